"""Reservations: stock held for a checkout, committed to an order, released or cancelled; idempotent by reference."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contexts.inventory import models, selectors, services
from contexts.inventory.exceptions import ReservationNotFound

# --- DTOs ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationLine:
    """A line to reserve: ``quantity`` units of ``sku``, from whichever warehouses can serve it."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocatedLine:
    """Units of a SKU held in one warehouse for a reservation, and how many of them have shipped."""

    sku: str
    warehouse_code: str
    quantity: int
    shipped: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Reservation:
    reference: str
    status: str  # "active" | "committed" | "released" | "expired"
    expires_at: datetime
    created_at: datetime
    committed_at: datetime | None
    lines: tuple[AllocatedLine, ...]


# --- Mapping -------------------------------------------------------------------------------------


def _reservation(reference: str) -> Reservation:
    reservation = selectors.reservation_with_lines(reference)
    if reservation is None:  # pragma: no cover - callers just wrote it
        raise ReservationNotFound(f"No reservation {reference!r}.")
    return _dto(reservation)


def _dto(reservation: models.Reservation) -> Reservation:
    """The DTO of a reservation a service returned: from the lines it holds when it wrote or locked them
    (no read), otherwise read afresh."""
    if "lines" not in getattr(reservation, "_prefetched_objects_cache", {}):
        return _reservation(reservation.reference)
    return Reservation(
        reference=reservation.reference,
        status=reservation.status,
        expires_at=reservation.expires_at,
        created_at=reservation.created_at,
        committed_at=reservation.committed_at,
        lines=tuple(
            AllocatedLine(
                sku=line.sku, warehouse_code=line.warehouse.code, quantity=line.quantity, shipped=line.shipped
            )
            for line in reservation.lines.all()
        ),
    )


# --- Reservations --------------------------------------------------------------------------------


def reserve_stock(*, reference: str, lines: Sequence[ReservationLine], ttl: timedelta | None = None) -> Reservation:
    """Hold stock for every line, all or nothing, until ``ttl`` (default INVENTORY_RESERVATION_TTL_SECONDS).

    Idempotent by reference: calling again returns the same reservation, whatever its status.

    :raises InsufficientStock: some line cannot be met; ``.shortfalls`` says which and by how much.
    :raises InvalidQuantity: a quantity below 1 or above INVENTORY_MAX_LINE_QUANTITY, no lines, or ``lines`` not a list.
    :raises InvalidSku: a SKU is empty or too long.
    :raises ReservationConflict: this reference is already reserved for other lines.
    :raises InvalidArgument: the reference is empty, too long or holds a control character, or the TTL is
        not between nothing and 30 days.
    """
    return _dto(services.reserve_stock(reference=reference, lines=lines, ttl=ttl))


def commit_reservation(*, reference: str) -> Reservation:
    """Turn a reservation into an allocation for an order (idempotent).

    :raises ReservationNotFound: no reservation has this reference.
    :raises ReservationExpired: it expired (its stock is back on sale).
    :raises ReservationClosed: it was released.
    :raises InvalidArgument: the reference is empty, too long or holds a control character.
    """
    return _dto(services.commit_reservation(reference=reference))


def release_reservation(*, reference: str, reason: str = "released") -> Reservation | None:
    """Give back the stock an active reservation holds: the checkout saga's compensation; idempotent.

    Returns ``None`` when nothing was ever reserved under this reference, and the reservation as it
    is when it was already released or expired, so a compensation can always call it. A committed
    reservation is refused, not released: a late or repeated compensation must never hand a
    confirmed order's stock back (cancelling an order is ``cancel_reservation``).

    :raises ReservationCommitted: the reservation is committed to an order.
    :raises InvalidArgument: the reference or reason is empty, too long or holds a control character.
    """
    reservation = services.release_reservation(reference=reference, reason=reason)
    return None if reservation is None else _dto(reservation)


def cancel_reservation(*, reference: str, reason: str = "cancelled") -> Reservation | None:
    """Give back everything a reservation still holds, committed or not: an order's cancellation; idempotent.

    Reserved stock and allocated stock not yet shipped go back on sale (``StockReleased`` with this
    reason); what already shipped stays shipped (returns are ``return_stock``). Returns ``None`` when
    nothing was ever reserved under this reference; the status is then ``released`` (or ``committed``
    when everything had shipped and nothing was held).

    :raises InvalidArgument: the reference or reason is empty, too long or holds a control character.
    """
    reservation = services.cancel_reservation(reference=reference, reason=reason)
    return None if reservation is None else _dto(reservation)


def get_reservation(*, reference: str) -> Reservation:
    """The reservation with this reference.

    :raises ReservationNotFound: no reservation has this reference.
    :raises InvalidArgument: the reference holds a control character or is too long.
    """
    if not isinstance(reference, str) or selectors.reservation_with_lines(services.clean_reference(reference)) is None:
        raise ReservationNotFound(f"No reservation {reference!r}.")
    return _reservation(reference.strip())
