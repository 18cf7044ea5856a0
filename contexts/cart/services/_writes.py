"""How every change of a cart is committed without losing a concurrent one.

A change is judged (limits, stock, prices: other contexts are asked) against the cart as read, at
its ``version``, with no transaction open. It then commits at once if the cart is still at that
version (one conditional UPDATE that also takes the cart's row lock); otherwise it is applied again
to the cart as it is now, read under that row lock, with the same local rules (and the availability
seen a moment ago), so parallel requests on one cart serialise and none is lost.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.db import connections, transaction
from django.db.models import F, QuerySet
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from commerce.database import atomic_in, database_for
from contexts.cart import domain, selectors
from contexts.cart.exceptions import CartClosed, CartNotFound, CheckoutInProgress
from contexts.cart.models import Cart, CartLine, CartStatus
from contexts.cart.selectors import CartState


@dataclass(frozen=True, slots=True, kw_only=True)
class LineWrite:
    """One line to write: ``line`` (None for a new one) set to ``quantity`` (0 deletes it)."""

    line: selectors.LineState | None
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """Writes to apply to a cart at a given state. Each callable receives that state."""

    line: Callable[[CartState], LineWrite] | None = None  # the line to write, judged against that state
    fields: Callable[[CartState], dict[str, Any]] | None = None  # cart columns to set


def ensure_open(state: CartState) -> None:
    """An open cart no checkout holds. A checkout's claim bumps the version, so a change judged
    before it fails its conditional commit and is judged again here, under the row lock."""
    if state.status == CartStatus.CHECKED_OUT:
        raise CartClosed()
    if state.status != CartStatus.OPEN:
        raise CartNotFound()
    if state.checkout_order_id is not None:
        raise CheckoutInProgress()


def commit(state: CartState, change: Change, view: domain.Cart | None = None) -> domain.Cart:
    """Apply ``change``; answer ``view`` (the cart priced as it will be) when nothing raced, else re-read."""
    now = timezone.now()
    fields = change.fields(state) if change.fields else {}
    write = change.line(state) if change.line else None
    claimed, created = _claim(state, fields, write, now)
    if claimed and view is not None:
        lines = tuple(replace(line, id=created[line.sku]) if line.sku in created else line for line in view.lines)
        return replace(view, lines=lines, updated_at=now)
    if not claimed:
        with atomic_in("cart"):
            current = lock(state.id)
            fields = change.fields(current) if change.fields else {}
            if change.line:
                set_line(current.id, change.line(current))
            selectors.carts().filter(pk=state.id).update(version=F("version") + 1, updated_at=now, **fields)
    return selectors.priced(selectors.load_cart(state.id))  # type: ignore[arg-type]


def _claim(state: CartState, fields: dict[str, Any], write: LineWrite | None, now: Any) -> tuple[bool, dict[str, int]]:
    """Bump the cart from ``state.version`` and apply the writes, all or nothing; False when the cart
    moved on meanwhile (nothing written). Returns the id of a created line by SKU.

    One statement, no transaction to open: the conditional UPDATE alone, or on PostgreSQL the UPDATE
    and the line write in one data-modifying WITH query.
    """
    if write is not None and write.line is None and write.quantity <= 0:
        write = None  # no line to create: only the version to claim
    connection = connections[database_for("cart")]
    if write is not None and connection.vendor == "postgresql" and not fields:
        row = _claim_and_write_line(connection, state, write, now)
        if row is None:
            return False, {}
        return True, ({write.sku: row} if write.line is None else {})
    claim = selectors.carts().filter(
        pk=state.id, version=state.version, status=CartStatus.OPEN, checkout_order_id__isnull=True
    )
    if write is None:
        return bool(claim.update(version=F("version") + 1, updated_at=now, **fields)), {}
    with atomic_in("cart"):
        if not claim.update(version=F("version") + 1, updated_at=now, **fields):
            return False, {}
        return True, set_line(state.id, write)


def _claim_and_write_line(connection: Any, state: CartState, write: LineWrite, now: Any) -> int | None:
    """PostgreSQL: claim the cart's version and write the line in one statement; the line's id, or None
    when the cart was not at ``state.version`` (nothing written)."""
    quote = connection.ops.quote_name
    cart_table, line_table = quote(Cart._meta.db_table), quote(CartLine._meta.db_table)
    claim = (
        f"WITH claimed AS (UPDATE {cart_table} SET version = version + 1, updated_at = %s "
        f"WHERE id = %s AND version = %s AND status = %s RETURNING id) "
    )
    params: list[Any] = [now, state.id, state.version, CartStatus.OPEN.value]
    if write.line is None:
        sql = (
            f"INSERT INTO {line_table} (cart_id, sku, quantity, added_at) "
            f"SELECT id, %s, %s, %s FROM claimed RETURNING id"
        )
        params += [write.sku, write.quantity, now]
    elif write.quantity > 0:
        sql = (
            f"UPDATE {line_table} SET quantity = %s WHERE id = %s AND cart_id IN (SELECT id FROM claimed) RETURNING id"
        )
        params += [write.quantity, write.line.id]
    else:
        sql = f"DELETE FROM {line_table} WHERE id = %s AND cart_id IN (SELECT id FROM claimed) RETURNING id"
        params += [write.line.id]
    with connection.cursor() as cursor:
        cursor.execute(claim + sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def lock(cart_id: Any) -> CartState:
    """The cart and its lines, read under the cart's row lock (inside a transaction).

    :raises CartNotFound: gone (or merged away) meanwhile.
    :raises CartClosed: checked out meanwhile.
    """
    cart = selectors.carts().select_for_update().filter(pk=cart_id).first()
    if cart is None:
        raise CartNotFound()
    state = selectors.state_of(cart, list(selectors.cart_lines().filter(cart_id=cart_id).order_by("id")))
    ensure_open(state)
    return state


def set_line(cart_id: Any, write: LineWrite) -> dict[str, int]:
    """Write one line: create, change or (quantity 0) delete it. Returns the id of a created line by SKU."""
    line, sku, quantity = write.line, write.sku, write.quantity
    if line is not None and line.id is not None:
        if quantity > 0:
            selectors.cart_lines().filter(pk=line.id).update(quantity=quantity)
        else:
            selectors.cart_lines().filter(pk=line.id).delete()
        return {}
    if quantity <= 0:
        return {}
    row = selectors.cart_lines().create(cart_id=cart_id, sku=sku, quantity=quantity)
    return {sku: row.pk}


def update_returning(cart_id: Any, claim: QuerySet[Cart], **values: Any) -> CartState | None:
    """Set ``values`` (which bump the version by one) on the cart ``cart_id`` when ``claim`` (a filter
    on it) matches, and answer the cart as written, lines included; None when it did not match
    (nothing written).

    PostgreSQL: one statement, the conditional UPDATE returning the row joined to the cart's lines, so
    nothing is read again. Those lines are the statement's snapshot; the row is as written after any
    wait for its lock. Every change of the lines bumps the version, so the version read in the same
    snapshot tells whether one committed in between (then, rarely, the lines are read again).
    Elsewhere: the UPDATE, then the cart read.
    """
    connection = connections[claim.db]
    if connection.vendor != "postgresql":
        return selectors.load_cart(cart_id) if claim.update(**values) else None
    query = claim.query.chain(UpdateQuery)
    query.add_update_values(values)
    update, update_params = query.get_compiler(claim.db).as_sql()
    quote = connection.ops.quote_name
    cart_table, line_table = quote(Cart._meta.db_table), quote(CartLine._meta.db_table)
    columns = [quote(field.column) for field in Cart._meta.concrete_fields]
    sql = (
        f"WITH seen AS (SELECT version FROM {cart_table} WHERE id = %s), "
        f"written AS ({update} RETURNING {', '.join(f'{cart_table}.{column}' for column in columns)}) "
        f"SELECT {', '.join(f'written.{column}' for column in columns)}, "
        "(SELECT version FROM seen) AS seen_version, "
        "line.id AS line_id, line.sku AS line_sku, line.quantity AS line_quantity "
        f"FROM written LEFT JOIN {line_table} line ON line.cart_id = written.id ORDER BY line.id"
    )
    params = [Cart._meta.pk.get_db_prep_value(cart_id, connection), *update_params]
    with transaction.mark_for_rollback_on_error(using=claim.db):  # as QuerySet.update does
        rows = list(Cart.objects.raw(sql, params).using(claim.db))
    if not rows:
        return None
    if rows[0].seen_version is None or rows[0].version != rows[0].seen_version + 1:
        return selectors.load_cart(cart_id)  # the lines changed while the update waited: as they are now
    return selectors.state_from_rows(rows)
