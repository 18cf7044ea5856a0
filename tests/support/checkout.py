"""A small shop for the checkout journeys, set up through each owning context's api, and helpers to
check out through the REST API and to check that a failed checkout left nothing behind."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.cart import api as cart_api
from contexts.inventory import api as inventory_api
from contexts.orders.models import CheckoutSaga, GatewayCharge, Order
from contexts.pricing import api as pricing_api
from tests.support.shop import make_product

ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "Unter den Linden 1",
    "line2": "",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
    "phone": "+49 30 1234567",
}


def build_shop() -> None:
    make_product("tee", "Tee", {"TEE-M": ("Medium", "20.00", 10), "TEE-L": ("Large", "20.00", 10)})
    make_product("mug", "Mug", {"MUG": ("Default", "8.50", 100)})
    pricing_api.ensure_shipping_zone(name="Germany", countries=["DE"])
    pricing_api.ensure_shipping_zone(name="France", countries=["FR"])
    pricing_api.ensure_shipping_method(code="standard", name="Standard", delivery_days=3)
    pricing_api.ensure_shipping_method(code="express", name="Express", delivery_days=1)
    pricing_api.ensure_shipping_rate(
        method="standard", zone="Germany", currency="EUR", price=Decimal("4.90"), free_over=Decimal("100.00")
    )
    pricing_api.ensure_shipping_rate(method="express", zone="Germany", currency="EUR", price=Decimal("9.90"))
    pricing_api.ensure_shipping_rate(method="standard", zone="France", currency="EUR", price=Decimal("6.90"))
    pricing_api.ensure_tax_rate(country="DE", tax_class="standard", rate=Decimal("19.00"))
    pricing_api.ensure_tax_rate(country="FR", tax_class="standard", rate=Decimal("20.00"))
    pricing_api.create_voucher(
        code="WELCOME10", kind="percentage", value=Decimal("10"), currency="EUR", min_spend=Decimal("20.00")
    )


def new_cart(lines: dict[str, int], *, customer_id: int | None = None, vouchers: tuple[str, ...] = ()) -> uuid.UUID:
    cart = cart_api.create_cart(customer_id=customer_id, currency="EUR").cart
    for sku, quantity in lines.items():
        cart_api.add_line(cart_id=cart.id, customer_id=customer_id, sku=sku, quantity=quantity)
    for code in vouchers:
        cart_api.add_voucher(cart_id=cart.id, customer_id=customer_id, code=code)
    return cart.id


def checkout_body(
    cart_id,
    *,
    token: str = "tok_ok",
    method: str | None = "standard",
    email: str | None = "guest@example.com",
    address=None,
    **extra,
) -> dict:
    body = {"cart_id": str(cart_id), "shipping_address": address or ADDRESS, "payment": {"token": token}, **extra}
    if method is not None:
        body["shipping_method"] = method
    if email is not None:
        body["email"] = email
    return body


def post_checkout(client, body: dict, *, key: str | None = None):
    headers = {} if key == "" else {"HTTP_IDEMPOTENCY_KEY": key or uuid.uuid4().hex}
    return client.post("/api/v1/checkout", body, format="json", **headers)


def available(sku: str) -> int:
    return inventory_api.get_availability(skus=[sku])[sku].available


def voucher_uses(code: str = "WELCOME10") -> int:
    return pricing_api.get_voucher(code=code).times_used


def gateway_net() -> Decimal:
    return sum((charge.captured - charge.refunded for charge in GatewayCharge.objects.all()), Decimal(0))


def published(event_type: str) -> list[dict]:
    rows = OutboxMessage.objects.using(database_for("orders")).filter(event_type=event_type).order_by("id")
    return [row.payload for row in rows]


def assert_left_nothing_behind(order_id, *, stock: dict[str, int], vouchers_used: int = 0) -> None:
    """A failed checkout: the order is ``failed``, no stock held, no voucher used, no money taken."""
    order = Order.objects.get(pk=order_id)
    assert order.status == "failed" and order.saga.state == "compensated"
    for sku, quantity in stock.items():
        assert available(sku) == quantity, sku
    assert voucher_uses() == vouchers_used
    assert gateway_net() == 0
    reservation = inventory_api.release_reservation(reference=str(order_id))  # idempotent: already released
    assert reservation is None or reservation.status in ("released", "expired")


def expire_lease(order_id) -> None:
    """Let time pass: the runner's lease and the saga timeout are over."""
    past = timezone.now() - timedelta(hours=1)
    Order.objects.filter(pk=order_id).update(updated_at=past, operation_since=past)
    CheckoutSaga.objects.filter(pk=order_id).update(lease_until=past, updated_at=past)
