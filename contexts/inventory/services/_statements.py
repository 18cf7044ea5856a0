"""The few statements of the checkout's reservation calls: a fixed number of round trips however many lines.

A reservation, a commit and a release each cost a handful of statements whatever the basket holds:
one read, one insert of the reservation with all its lines, one ``UPDATE`` of every stock level it
touches (``FROM`` a ``VALUES`` list), then the outbox. PostgreSQL runs the level ``UPDATE`` as one
``WITH`` statement that first locks every level of the SKUs in (sku, warehouse id) order, the lock
order of ``_locking``, so baskets sharing SKUs still queue instead of deadlocking; SQLite serialises
writers and needs no row lock, so its branch is a plain ``UPDATE ... FROM ... RETURNING``.

Every counter change is conditional (the row must still hold what the change takes): a change that
would oversell is not applied and the caller sees which keys were, never an oversold level.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connections

from commerce.database import database_for
from contexts.inventory.models import Reservation, ReservationLine, StockLevel, Warehouse
from contexts.inventory.services._validation import CONTEXT

Key = tuple[str, int]  # (sku, warehouse id): one stock level
Change = tuple[int, int, int]  # (on hand, reserved, allocated) to add


@dataclass(slots=True, kw_only=True)
class Level:
    """A stock level as a statement returned it (current: locked, or read under SQLite's write lock)."""

    id: int
    sku: str
    warehouse_id: int
    on_hand: int
    reserved: int
    allocated: int

    @property
    def key(self) -> Key:
        return (self.sku, self.warehouse_id)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.allocated


def alias() -> str:
    return database_for(CONTEXT)


def on_postgresql() -> bool:
    return connections[alias()].vendor == "postgresql"


def _table(model: type) -> str:
    return connections[alias()].ops.quote_name(model._meta.db_table)


def _values(rows: Sequence[Sequence[object]]) -> tuple[str, list[object]]:
    """``VALUES (%s, ...), ...`` and its flat parameters."""
    width = len(rows[0])
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * len(rows)), [value for values in rows for value in values]


def read_levels(skus: Iterable[str], *, share_warehouses: bool) -> tuple[dict[int, Warehouse], list[Level]]:
    """Every level of these SKUs with its warehouse, in one statement.

    ``share_warehouses`` (PostgreSQL) share-locks the warehouses of these levels until the transaction
    ends: what ``_lock_stock``'s lock of every warehouse guarantees a write announcing availability
    (a warehouse switch waits for it), for the warehouses that matter to these SKUs only.
    """
    wanted = sorted(set(skus))
    placeholders = ", ".join(["%s"] * len(wanted))
    lock = " FOR SHARE OF w" if share_warehouses else ""
    rows = StockLevel.objects.using(alias()).raw(
        f"SELECT l.id, l.sku, l.warehouse_id, l.on_hand, l.reserved, l.allocated, "
        f"w.code AS w_code, w.priority AS w_priority, w.active AS w_active "
        f"FROM {_table(StockLevel)} l JOIN {_table(Warehouse)} w ON w.id = l.warehouse_id "
        f"WHERE l.sku IN ({placeholders}) ORDER BY l.sku, l.warehouse_id{lock}",
        wanted,
    )
    warehouses: dict[int, Warehouse] = {}
    levels = []
    for row in rows:
        warehouses[row.warehouse_id] = Warehouse(
            id=row.warehouse_id, code=row.w_code, priority=row.w_priority, active=bool(row.w_active)
        )
        levels.append(
            Level(
                id=row.pk,
                sku=row.sku,
                warehouse_id=row.warehouse_id,
                on_hand=row.on_hand,
                reserved=row.reserved,
                allocated=row.allocated,
            )
        )
    return warehouses, levels


def insert_reservation(
    *, reference: str, created_at: datetime, expires_at: datetime, lines: Sequence[tuple[str, int, int]] = ()
) -> tuple[int, list[int]] | None:
    """Insert the reservation (and on PostgreSQL its ``(sku, warehouse id, quantity)`` lines in the same
    statement); ``None`` when the reference is taken (after waiting for a twin still writing it).

    Returns the reservation's id and the lines' ids, in the order given.
    """
    connection = connections[alias()]
    ops = connection.ops
    params: list[object] = [
        reference,
        Reservation.Status.ACTIVE,
        ops.adapt_datetimefield_value(expires_at),
        ops.adapt_datetimefield_value(created_at),
    ]
    insert = (
        f"INSERT INTO {_table(Reservation)} (reference, status, expires_at, created_at, committed_at, closed_at) "
        "VALUES (%s, %s, %s, %s, NULL, NULL) ON CONFLICT (reference) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        if not lines:
            cursor.execute(insert, params)
            row = cursor.fetchone()
            return None if row is None else (row[0], [])
        values, value_params = _values(
            [(n, sku, warehouse_id, quantity) for n, (sku, warehouse_id, quantity) in enumerate(lines)]
        )
        cursor.execute(
            f"WITH r AS ({insert}), v (n, sku, warehouse_id, quantity) AS (VALUES {values}), "
            f"l AS (INSERT INTO {_table(ReservationLine)} (reservation_id, sku, warehouse_id, quantity, shipped) "
            "SELECT r.id, v.sku, v.warehouse_id, v.quantity, 0 FROM r CROSS JOIN v ORDER BY v.n "
            "RETURNING id, reservation_id) "
            "SELECT reservation_id, id FROM l ORDER BY id",
            [*params, *value_params],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    return rows[0][0], [line_id for _, line_id in rows]


def change_levels(
    changes: Mapping[Key, Change],
    *,
    now: datetime,
    whole_skus: bool,
    also: tuple[str, Sequence[object]] | None = None,
) -> tuple[list[Level], set[Key]]:
    """Add ``changes`` to their levels in one statement, each only if the level can take it.

    Returns the levels afterwards and the keys whose change was applied. ``whole_skus``: every level
    of the changed SKUs is locked (PostgreSQL) and returned, not only the changed ones, so a caller
    can total a SKU's availability exactly as it commits.
    ``also`` (PostgreSQL) is one more ``UPDATE`` to run in the same statement (a reservation's status).
    """
    connection = connections[alias()]
    keys = sorted(changes)
    values, params = _values([(sku, warehouse_id, *changes[(sku, warehouse_id)]) for sku, warehouse_id in keys])
    stamp = connection.ops.adapt_datetimefield_value(now)
    level = _table(StockLevel)
    sets = (
        "on_hand = l.on_hand + v.d_on_hand, reserved = l.reserved + v.d_reserved, "
        "allocated = l.allocated + v.d_allocated, updated_at = %s"
    )
    holds = (
        "l.on_hand + v.d_on_hand >= 0 AND l.reserved + v.d_reserved >= 0 AND l.allocated + v.d_allocated >= 0 "
        "AND l.on_hand + v.d_on_hand >= l.reserved + v.d_reserved + l.allocated + v.d_allocated"
    )
    columns = "v (sku, warehouse_id, d_on_hand, d_reserved, d_allocated)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            scope = (
                "s.sku IN (SELECT sku FROM v)"
                if whole_skus
                else "(s.sku, s.warehouse_id) IN (SELECT sku, warehouse_id FROM v)"
            )
            extra = f", extra AS ({also[0]})" if also else ""
            cursor.execute(
                f"WITH {columns} AS (VALUES {values}), "
                f"locked AS (SELECT s.id, s.sku, s.warehouse_id, s.on_hand, s.reserved, s.allocated FROM {level} s "
                f"WHERE {scope} ORDER BY s.sku, s.warehouse_id FOR UPDATE), "
                f"changed AS (UPDATE {level} l SET {sets} FROM locked JOIN v "
                "ON v.sku = locked.sku AND v.warehouse_id = locked.warehouse_id "
                f"WHERE l.id = locked.id AND {holds} RETURNING l.id, l.on_hand, l.reserved, l.allocated){extra} "
                "SELECT locked.id, locked.sku, locked.warehouse_id, COALESCE(changed.on_hand, locked.on_hand), "
                "COALESCE(changed.reserved, locked.reserved), COALESCE(changed.allocated, locked.allocated), "
                "changed.id IS NOT NULL FROM locked LEFT JOIN changed ON changed.id = locked.id "
                "ORDER BY locked.sku, locked.warehouse_id",
                [*params, stamp, *(also[1] if also else ())],
            )
            rows = cursor.fetchall()
            levels = [
                Level(id=r[0], sku=r[1], warehouse_id=r[2], on_hand=r[3], reserved=r[4], allocated=r[5]) for r in rows
            ]
            return levels, {(r[1], r[2]) for r in rows if r[6]}
        if also:
            raise ValueError("change_levels(also=...) runs on PostgreSQL only")  # pragma: no cover
        # SQLite: one writer at a time, no row lock; the levels left alone are "changed" by nothing so
        # that RETURNING hands back every level in scope, as PostgreSQL's statement does.
        scope = (
            "s.sku IN (SELECT sku FROM v)"
            if whole_skus
            else "(s.sku, s.warehouse_id) IN (SELECT sku, warehouse_id FROM v)"
        )
        cursor.execute(
            f"WITH {columns} AS (VALUES {values}), "
            "x AS (SELECT s.id AS id, v.sku IS NOT NULL AS changed, COALESCE(v.d_on_hand, 0) AS d_on_hand, "
            "COALESCE(v.d_reserved, 0) AS d_reserved, COALESCE(v.d_allocated, 0) AS d_allocated "
            f"FROM {level} s LEFT JOIN v ON v.sku = s.sku AND v.warehouse_id = s.warehouse_id WHERE {scope}) "
            f"UPDATE {level} AS l SET on_hand = l.on_hand + v.d_on_hand, reserved = l.reserved + v.d_reserved, "
            "allocated = l.allocated + v.d_allocated, updated_at = CASE WHEN v.changed THEN %s ELSE l.updated_at END "
            f"FROM x AS v WHERE l.id = v.id AND {holds} "
            "RETURNING id, sku, warehouse_id, on_hand, reserved, allocated",
            [*params, stamp],
        )
        rows = cursor.fetchall()
    levels = [Level(id=r[0], sku=r[1], warehouse_id=r[2], on_hand=r[3], reserved=r[4], allocated=r[5]) for r in rows]
    levels.sort(key=lambda level: level.key)
    return levels, set(changes) & {level.key for level in levels}


def read_for_release(reference: str) -> tuple[Reservation, dict[int, Warehouse]] | None:
    """The reservation locked, its lines, and every warehouse holding their SKUs, in one statement.

    On PostgreSQL the reservation and its lines are locked ``FOR UPDATE`` (a locked row comes back as
    its latest version, so ``shipped`` is current even after waiting for a shipment) and every
    warehouse holding its SKUs ``FOR SHARE`` (the warehouse lock of ``_lock_stock``'s order, taken
    before any level lock), so the availability a release announces cannot race a warehouse switch.
    The lines come back with the reservation (``reservation.lines.all()`` reads nothing more); the
    levels' figures come from ``change_levels``, locked. ``None`` when no reservation with lines has
    this reference.
    """
    lock = " FOR UPDATE OF r, l FOR SHARE OF w" if on_postgresql() else ""
    rows = list(
        Reservation.objects.using(alias()).raw(
            "SELECT r.id, r.reference, r.status, r.expires_at, r.created_at, r.committed_at, r.closed_at, "
            "l.id AS line_id, l.sku AS line_sku, l.warehouse_id AS line_warehouse_id, l.quantity AS line_quantity, "
            "l.shipped AS line_shipped, s.warehouse_id AS level_warehouse_id, "
            "w.code AS w_code, w.priority AS w_priority, w.active AS w_active "
            f"FROM {_table(Reservation)} r JOIN {_table(ReservationLine)} l ON l.reservation_id = r.id "
            f"JOIN {_table(StockLevel)} s ON s.sku = l.sku JOIN {_table(Warehouse)} w ON w.id = s.warehouse_id "
            f"WHERE r.reference = %s ORDER BY l.sku, l.warehouse_id, s.warehouse_id{lock}",
            [reference],
        )
    )
    if not rows:
        return None
    warehouses: dict[int, Warehouse] = {}
    lines: dict[int, ReservationLine] = {}
    for row in rows:
        warehouses[row.level_warehouse_id] = Warehouse(
            id=row.level_warehouse_id, code=row.w_code, priority=row.w_priority, active=bool(row.w_active)
        )
        lines[row.line_id] = ReservationLine(
            id=row.line_id,
            reservation_id=row.pk,
            sku=row.line_sku,
            warehouse_id=row.line_warehouse_id,
            quantity=row.line_quantity,
            shipped=row.line_shipped,
        )
    reservation = Reservation(
        id=rows[0].pk,
        reference=rows[0].reference,
        status=rows[0].status,
        expires_at=rows[0].expires_at,
        created_at=rows[0].created_at,
        committed_at=rows[0].committed_at,
        closed_at=rows[0].closed_at,
    )
    if any(line.warehouse_id not in warehouses for line in lines.values()):  # pragma: no cover - levels stay
        return None
    return with_lines(reservation, list(lines.values()), warehouses), warehouses


def close_reservation(reservation_id: int, *, status: str, closed_at: datetime) -> tuple[str, list[object]]:
    """The ``UPDATE`` closing a reservation, to run inside ``change_levels``' statement (``also``)."""
    return (
        f"UPDATE {_table(Reservation)} SET status = %s, closed_at = %s WHERE id = %s",
        [status, connections[alias()].ops.adapt_datetimefield_value(closed_at), reservation_id],
    )


def commit_reservation_statement(reservation_id: int, *, committed_at: datetime) -> tuple[str, list[object]]:
    """The ``UPDATE`` committing a reservation, to run inside ``change_levels``' statement (``also``)."""
    return (
        f"UPDATE {_table(Reservation)} SET status = %s, committed_at = %s WHERE id = %s",
        [
            Reservation.Status.COMMITTED,
            connections[alias()].ops.adapt_datetimefield_value(committed_at),
            reservation_id,
        ],
    )


def with_lines(
    reservation: Reservation, lines: Sequence[ReservationLine], warehouses: Mapping[int, Warehouse]
) -> Reservation:
    """The reservation with its lines (and their warehouses) in hand: ``reservation.lines.all()`` and
    ``line.warehouse`` read nothing, so a reservation just written is returned without reading it back."""
    reservation._state.adding = False
    reservation._state.db = alias()
    ordered = sorted(lines, key=lambda line: (line.sku, line.warehouse_id))
    for line in ordered:
        line._state.adding = False
        line._state.db = reservation._state.db
        line.reservation = reservation
        line.warehouse = warehouses[line.warehouse_id]
    cached = ReservationLine.objects.none()
    cached._result_cache = ordered
    cached._prefetch_done = True
    reservation._prefetched_objects_cache = {"lines": cached}
    return reservation
