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

from django.db.models import F
from django.utils import timezone

from commerce.database import atomic_in
from contexts.cart import domain, selectors
from contexts.cart.exceptions import CartClosed, CartNotFound
from contexts.cart.models import CartStatus
from contexts.cart.selectors import CartState


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """Writes to apply to a cart at a given state. Each callable receives that state."""

    lines: Callable[[CartState], dict[str, int]] | None = None  # line writes; returns ids of created lines by SKU
    fields: Callable[[CartState], dict[str, Any]] | None = None  # cart columns to set


def ensure_open(state: CartState) -> None:
    if state.status == CartStatus.CHECKED_OUT:
        raise CartClosed()
    if state.status != CartStatus.OPEN:
        raise CartNotFound()


def commit(state: CartState, change: Change, view: domain.Cart | None = None) -> domain.Cart:
    """Apply ``change``; answer ``view`` (the cart priced as it will be) when nothing raced, else re-read."""
    now = timezone.now()
    with atomic_in("cart"):
        fields = change.fields(state) if change.fields else {}
        claimed = (
            selectors.carts()
            .filter(pk=state.id, version=state.version, status=CartStatus.OPEN)
            .update(version=F("version") + 1, updated_at=now, **fields)
        )
        if claimed:
            created = change.lines(state) if change.lines else {}
    if claimed and view is not None:
        lines = tuple(replace(line, id=created[line.sku]) if line.sku in created else line for line in view.lines)
        return replace(view, lines=lines, updated_at=now)
    if not claimed:
        with atomic_in("cart"):
            current = lock(state.id)
            fields = change.fields(current) if change.fields else {}
            if change.lines:
                change.lines(current)
            selectors.carts().filter(pk=state.id).update(version=F("version") + 1, updated_at=now, **fields)
    return selectors.priced(selectors.load_cart(state.id))  # type: ignore[arg-type]


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


def set_line(cart_id: Any, line: selectors.LineState | None, sku: str, quantity: int) -> dict[str, int]:
    """Write one line: create, change or (quantity 0) delete it. Returns the id of a created line by SKU."""
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
