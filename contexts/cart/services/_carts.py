"""Carts as a whole: open one, hand one to checkout and close it, assign an anonymous one to a
customer (merging it into theirs), erase a customer's, and delete abandoned anonymous ones."""

from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from commerce.database import atomic_in, database_for
from contexts.cart import domain, selectors
from contexts.cart.conf import cart_settings
from contexts.cart.exceptions import (
    CartChanged,
    CartClosed,
    CartNotAnonymous,
    CartNotFound,
    CheckoutInProgress,
    InvalidCartInput,
)
from contexts.cart.models import Cart, CartStatus
from contexts.cart.selectors import CartState
from contexts.cart.services._writes import LineWrite, set_line, update_returning
from contexts.catalogue import api as catalogue_api


def create_cart(*, customer_id: int | None, currency: object = None) -> tuple[CartState, bool]:
    """A new cart; a customer who already has an open cart gets it back (``created`` False)."""
    conf = cart_settings()
    if currency is None:
        currency = conf.default_currency
    if not isinstance(currency, str) or currency.upper() not in conf.currencies:
        raise InvalidCartInput({"currency": [f"The shop sells in {', '.join(conf.currencies)}."]})
    currency = currency.upper()
    if customer_id is not None:
        existing = selectors.open_cart_of(customer_id)
        if existing is not None:
            return existing, False
    try:  # one INSERT: atomic on its own, no transaction to open around it
        cart = _insert_cart(customer_id=customer_id, currency=currency)
    except IntegrityError:  # the same customer opened one in parallel: answer that one
        existing = selectors.open_cart_of(customer_id) if customer_id is not None else None
        if existing is None:
            raise
        return existing, False
    return selectors.state_of(cart, []), True


def _insert_cart(**values: object) -> Cart:
    """A new cart, saved as ``carts().create(**values)`` saves it (the same INSERT of every column, the
    defaults and timestamps set as ``save()`` sets them, the caller's transaction marked for rollback on
    an error), without the ORM's query building: every new cart costs one such INSERT."""
    alias = database_for("cart")
    connection = connections[alias]
    cart = Cart(**values)
    fields = Cart._meta.concrete_fields
    row = [field.get_db_prep_save(field.pre_save(cart, add=True), connection) for field in fields]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(Cart._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, row)
    cart._state.adding, cart._state.db = False, alias
    return cart


def _order_id(order_id: object) -> UUID:
    if isinstance(order_id, UUID):
        return order_id
    if isinstance(order_id, str):
        try:
            return UUID(order_id)
        except ValueError:
            pass
    raise InvalidCartInput({"order_id": ["An order id is a UUID."]})


def checkout_cart(*, cart_id: object, customer_id: int | None) -> CartState:
    """The cart for checkout, as the caller may see it, open or already checked out.

    :raises CartNotFound: unknown, merged away, or another customer's cart.
    """
    return selectors.cart_for(cart_id, customer_id)


def close_cart(*, cart_id: object, order_id: object) -> CartState:
    """Mark the cart checked out by ``order_id``: idempotent for the same order, refused for another.

    One conditional UPDATE (open, and not held by another order's checkout) that answers the cart as
    closed; the cart is read only when it did not apply, to say why (or to answer a retried close).

    :raises CartNotFound: no such cart.
    :raises CartClosed: already checked out by another order.
    :raises CheckoutInProgress: another order's checkout holds it.
    """
    order_id = _order_id(order_id)
    parsed = domain.parse_cart_id(cart_id)
    if parsed is None:
        raise CartNotFound()
    while True:
        now = timezone.now()
        closable = selectors.carts().filter(
            Q(checkout_order_id__isnull=True) | Q(checkout_order_id=order_id), pk=parsed, status=CartStatus.OPEN
        )
        closed = update_returning(
            parsed,
            closable,
            status=CartStatus.CHECKED_OUT,
            order_id=order_id,
            closed_at=now,
            updated_at=now,
            version=F("version") + 1,
        )
        if closed is not None:
            return closed
        cart = selectors.load_cart(parsed)
        if cart is None or cart.status == CartStatus.MERGED:
            raise CartNotFound()
        if cart.status == CartStatus.CHECKED_OUT:
            if cart.order_id != order_id:
                raise CartClosed("This cart was checked out by another order.")
            return cart
        if cart.checkout_order_id not in (None, order_id):
            raise CheckoutInProgress()
        # Open and closable as read now: another order's claim was let go in between. Close it again.


def claim_for_checkout(*, cart_id: object, order_id: object, version: int | None = None) -> CartState:
    """Hold the open cart for ``order_id``'s checkout: one conditional UPDATE (no read-then-write), so
    of two checkouts at once exactly one holds it; it answers the cart as claimed (the cart is read
    only when the update did not apply, to say why). Idempotent for the same order. The version is
    bumped, so a change judged before the claim is judged again and refused.

    :raises CartNotFound: no such cart.
    :raises CheckoutInProgress: another order's checkout holds it.
    :raises CartClosed: checked out by another order.
    :raises CartChanged: ``version`` given and the cart changed since (an edit the order would miss).
    """
    order_id = _order_id(order_id)
    parsed = domain.parse_cart_id(cart_id)
    if parsed is None:
        raise CartNotFound()
    unclaimed = Q(checkout_order_id__isnull=True)
    if version is not None:
        unclaimed &= Q(version=version)
    claimable = selectors.carts().filter(unclaimed | Q(checkout_order_id=order_id), pk=parsed, status=CartStatus.OPEN)
    claimed = update_returning(
        parsed, claimable, checkout_order_id=order_id, version=F("version") + 1, updated_at=timezone.now()
    )
    if claimed is not None:
        return claimed
    cart = selectors.load_cart(parsed)  # refused (or a retry after the close): read to say why
    if cart is None or cart.status == CartStatus.MERGED:
        raise CartNotFound()
    if cart.status == CartStatus.CHECKED_OUT:
        if cart.order_id != order_id:
            raise CartClosed("This cart was checked out by another order.")
    elif cart.checkout_order_id is None:
        raise CartChanged()
    elif cart.checkout_order_id != order_id:
        raise CheckoutInProgress()
    return cart


def release_checkout_claim(*, cart_id: object, order_id: object) -> None:
    """Let go of the cart held for ``order_id`` (its checkout failed): usable again. Idempotent, and
    never releases another order's claim or a closed cart."""
    order_id = _order_id(order_id)
    parsed = domain.parse_cart_id(cart_id)
    if parsed is None:
        return
    selectors.carts().filter(pk=parsed, status=CartStatus.OPEN, checkout_order_id=order_id).update(
        checkout_order_id=None, version=F("version") + 1, updated_at=timezone.now()
    )


def discard_customer_carts(*, customer_id: int) -> int:
    """Delete every cart of a customer (account erasure). Repeating it deletes nothing more."""
    if isinstance(customer_id, bool) or not isinstance(customer_id, int):
        raise InvalidCartInput({"customer_id": ["A customer id is a whole number."]})
    with atomic_in("cart"):
        ids = list(selectors.carts().filter(customer_id=customer_id).values_list("pk", flat=True))
        selectors.cart_lines().filter(cart_id__in=ids).delete()
        selectors.carts().filter(pk__in=ids).delete()
    return len(ids)


def delete_abandoned_carts(*, now: datetime | None = None) -> int:
    """Delete anonymous carts nobody touched for ``CART_ANONYMOUS_RETENTION_DAYS`` (and carts merged
    away as long ago), in batches. Customers' own carts are kept."""
    conf = cart_settings()
    cutoff = (now or timezone.now()) - timedelta(days=conf.anonymous_retention_days)
    stale = Q(updated_at__lt=cutoff) & (Q(customer_id__isnull=True) | Q(status=CartStatus.MERGED))
    total = 0
    while True:
        ids = list(selectors.carts().filter(stale).values_list("pk", flat=True)[: conf.cleanup_batch_size])
        if not ids:
            return total
        with atomic_in("cart"):
            selectors.cart_lines().filter(cart_id__in=ids).delete()
            selectors.carts().filter(pk__in=ids).filter(stale).delete()
        total += len(ids)


# --- Assigning an anonymous cart to a customer ----------------------------------------------------


def assign_cart(*, cart_id: object, customer_id: int) -> CartState:
    """Give the anonymous cart ``cart_id`` to the customer: it becomes their cart, or, when they
    already have an open one, is merged into it (quantities add up, capped at the per-line maximum;
    the anonymous cart's vouchers carried over when pricing still applies them; its delivery choice
    wins). Retrying after a merge answers the same merged cart.

    :raises CartNotFound: unknown, or another customer's cart.
    :raises CartNotAnonymous: the cart is already the caller's own.
    :raises CartClosed: the anonymous cart was checked out.
    """
    source = selectors.load_cart(cart_id)
    if source is None:
        raise CartNotFound()
    if source.status == CartStatus.MERGED:
        if source.customer_id == customer_id and source.merged_into is not None:
            return selectors.cart_for(source.merged_into, customer_id)
        raise CartNotFound()
    if source.customer_id is not None:
        if source.customer_id == customer_id:
            raise CartNotAnonymous("This cart is already yours.")
        raise CartNotFound()
    if source.status == CartStatus.CHECKED_OUT:
        raise CartClosed()
    if source.checkout_order_id is not None:
        raise CheckoutInProgress()
    target = selectors.open_cart_of(customer_id)
    if target is None:
        return _take_over(source, customer_id)
    carried = _carried_vouchers(source, target)
    now = timezone.now()
    with atomic_in("cart"):
        locked = {
            cart.pk: cart
            for cart in selectors.carts().select_for_update().filter(pk__in=[source.id, target.id]).order_by("pk")
        }
        src, dst = locked.get(source.id), locked.get(target.id)
        if src is None or src.status != CartStatus.OPEN or src.customer_id is not None:
            raise CartNotFound() if src is None or src.customer_id not in (None, customer_id) else CartClosed()
        if dst is None or dst.status != CartStatus.OPEN:
            raise CartClosed("Your cart changed meanwhile; try again.")
        if src.checkout_order_id is not None or dst.checkout_order_id is not None:
            raise CheckoutInProgress()
        src_state = selectors.state_of(src, list(selectors.cart_lines().filter(cart_id=src.pk)))
        dst_state = selectors.state_of(dst, list(selectors.cart_lines().filter(cart_id=dst.pk)))
        _merge_lines(src_state, dst_state)
        codes = list(dst_state.voucher_codes)
        codes += [code for code in src_state.voucher_codes if code in carried and code not in codes]
        selectors.carts().filter(pk=dst.pk).update(
            voucher_codes=codes,
            country=src_state.country or dst_state.country,
            shipping_method=src_state.shipping_method if src_state.country else dst_state.shipping_method,
            version=F("version") + 1,
            updated_at=now,
        )
        selectors.cart_lines().filter(cart_id=src.pk).delete()
        selectors.carts().filter(pk=src.pk).update(
            status=CartStatus.MERGED,
            customer_id=customer_id,
            merged_into=dst.pk,
            voucher_codes=[],
            version=F("version") + 1,
            updated_at=now,
        )
    return selectors.load_cart(target.id)  # type: ignore[return-value]


def _take_over(source: CartState, customer_id: int) -> CartState:
    try:
        with atomic_in("cart"):
            taken = (
                selectors.carts()
                .filter(pk=source.id, status=CartStatus.OPEN, customer_id__isnull=True, checkout_order_id__isnull=True)
                .update(customer_id=customer_id, version=F("version") + 1, updated_at=timezone.now())
            )
    except IntegrityError:  # the customer opened a cart meanwhile: merge into it instead
        return assign_cart(cart_id=source.id, customer_id=customer_id)
    if not taken:
        return assign_cart(cart_id=source.id, customer_id=customer_id)  # judged again as it is now
    return selectors.load_cart(source.id)  # type: ignore[return-value]


def _merge_lines(source: CartState, target: CartState) -> None:
    """Quantities add up, capped at the per-line maximum; new SKUs go in while the cart has room."""
    conf = cart_settings()
    count = len(target.lines)
    for line in source.lines:
        existing = target.line_for(line.sku)
        if existing is None and count >= conf.max_lines:
            continue
        total = min((existing.quantity if existing else 0) + line.quantity, conf.max_line_quantity)
        set_line(target.id, LineWrite(line=existing, sku=line.sku, quantity=total))
        count += existing is None


def _carried_vouchers(source: CartState, target: CartState) -> frozenset[str]:
    """The anonymous cart's codes pricing would still apply to the merged cart (asked before locking)."""
    codes = [code for code in source.voucher_codes if code not in target.voucher_codes]
    if not codes:
        return frozenset()
    merged = target
    for line in source.lines:
        existing = merged.line_for(line.sku)
        total = min((existing.quantity if existing else 0) + line.quantity, cart_settings().max_line_quantity)
        merged = merged.with_quantity(line.sku, total)
    merged = replace(merged, voucher_codes=(*target.voucher_codes, *codes))
    variants = catalogue_api.get_variants(skus=[line.sku for line in merged.lines]) if merged.lines else {}
    quote, _, _ = selectors.quote_state(merged, variants)
    refused = {r.code for r in quote.refused_vouchers} if quote else set(codes)
    return frozenset(code for code in codes if code not in refused)
