"""The demo shop's orders (``manage.py seed_demo_orders``, run by ``bin/shop`` after ``seed_demo``): three
weeks of orders placed, shipped, delivered, returned and cancelled through the contexts' own ``api``, so a
new user's admin index shows work waiting today and how the week went instead of zeros.

Each demo order belongs to a demo buyer of its own (``demo.buyer<n>@example.com``, no usable password):
a buyer who has an order already is left alone, so a second run adds nothing and never changes what
staff did to a demo order since. An order is placed now, moved through its steps by the same services
staff and customers use, then dated back to its day with orders' demo-only ``backdate_demo_order``.

It sits outside the contexts because it spans them (identity's customers, cart, orders); like
``contexts/wiring.py`` it imports only their ``api`` modules.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from contexts.cart import api as cart_api
from contexts.identity import api as identity_api
from contexts.orders import api as orders_api

# Demo SKUs from the bundled catalogue (contexts/catalogue/demo/catalogue.csv) with stock to spare.
SKUS = (
    "DEMO-00008-2",
    "DEMO-00011-2",
    "DEMO-00019-1",
    "DEMO-00029-1",
    "DEMO-00046-1",
    "DEMO-00049-2",
    "DEMO-00055-1",
    "DEMO-00066-2",
)
NAMESPACE = uuid.UUID("6f1c3a52-52b4-4a57-9d8e-3c1f0b7e2d10")  # the checkouts' idempotency claims

TO_SHIP, SHIPPED, DELIVERED, RETURN_WAITING, CANCELLED = "to ship", "shipped", "delivered", "return", "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOrder:
    days_ago: int  # 0: placed today, at the time of the seed
    outcome: str
    quantity: int = 1


PLAN = (
    DemoOrder(days_ago=20, outcome=DELIVERED),
    DemoOrder(days_ago=18, outcome=DELIVERED, quantity=2),
    DemoOrder(days_ago=15, outcome=DELIVERED),
    DemoOrder(days_ago=13, outcome=DELIVERED),
    DemoOrder(days_ago=11, outcome=DELIVERED, quantity=2),
    DemoOrder(days_ago=9, outcome=DELIVERED),
    DemoOrder(days_ago=8, outcome=RETURN_WAITING),
    DemoOrder(days_ago=6, outcome=DELIVERED),
    DemoOrder(days_ago=5, outcome=DELIVERED, quantity=2),
    DemoOrder(days_ago=4, outcome=SHIPPED),
    DemoOrder(days_ago=3, outcome=CANCELLED),
    DemoOrder(days_ago=2, outcome=SHIPPED),
    DemoOrder(days_ago=1, outcome=TO_SHIP),
    DemoOrder(days_ago=1, outcome=TO_SHIP, quantity=2),
    DemoOrder(days_ago=0, outcome=TO_SHIP),
    DemoOrder(days_ago=0, outcome=TO_SHIP),
)
FIRST_NAMES = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Linus")
LAST_NAMES = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Torvalds")


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOrdersReport:
    created: int
    already_there: int


def seed_demo_orders(*, now: datetime | None = None) -> DemoOrdersReport:
    """Place every demo order of ``PLAN`` whose buyer has none yet (the catalogue, prices, stock and
    shipping of ``seed_demo`` must exist). A refused checkout (stock sold out since) raises."""
    now = now or timezone.now()
    created = 0
    for n, planned in enumerate(PLAN, start=1):
        buyer = identity_api.ensure_demo_customer(
            email=f"demo.buyer{n}@example.com",
            first_name=FIRST_NAMES[n % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(n * 3) % len(LAST_NAMES)],
        )
        if orders_api.count_customer_orders(customer_id=buyer.id):
            continue
        order = _place(n, planned, buyer)
        _follow(planned, order, buyer)
        if planned.days_ago:
            orders_api.backdate_demo_order(order_id=order.id, placed_at=_placed_at(n, planned, now))
        created += 1
    return DemoOrdersReport(created=created, already_there=len(PLAN) - created)


def _place(n: int, planned: DemoOrder, buyer: identity_api.Customer) -> orders_api.Order:
    cart = cart_api.create_cart(customer_id=buyer.id, currency="EUR").cart
    for sku in (SKUS[n % len(SKUS)], SKUS[(n * 5 + 3) % len(SKUS)])[: 1 + n % 2]:
        cart_api.add_line(cart_id=cart.id, customer_id=buyer.id, sku=sku, quantity=planned.quantity)
    cart_api.set_delivery(cart_id=cart.id, customer_id=buyer.id, country="DE", shipping_method="standard")
    return orders_api.place_order(
        cart_id=cart.id,
        customer_id=buyer.id,
        email=buyer.email,
        shipping_address=orders_api.Address(
            full_name=f"{buyer.first_name} {buyer.last_name}",
            line1=f"Demostrasse {n}",
            line2="",
            city="Berlin",
            postal_code="10115",
            country="DE",
            phone="",
        ),
        shipping_method="standard",
        payment_token="tok_ok",
        idempotency_claim=uuid.uuid5(NAMESPACE, buyer.email),
    )


def _follow(planned: DemoOrder, order: orders_api.Order, buyer: identity_api.Customer) -> None:
    """Take the order as far as the plan says, through the services staff and customers use."""
    if planned.outcome == CANCELLED:
        orders_api.cancel_order(order_id=order.id, actor="demo")
        return
    if planned.outcome == TO_SHIP:
        return
    orders_api.ship_order(order_id=order.id, actor="demo")
    if planned.outcome == SHIPPED:
        return
    orders_api.mark_delivered(order_id=order.id, actor="demo")
    if planned.outcome == RETURN_WAITING:
        orders_api.request_return(
            order_id=order.id, customer_id=buyer.id, lines=[(order.lines[0].sku, 1)], reason="Too small"
        )


def _placed_at(n: int, planned: DemoOrder, now: datetime) -> datetime:
    """Shop hours on the planned day, in the shop's time zone (``TIME_ZONE``)."""
    day = timezone.localdate(now) - timedelta(days=planned.days_ago)
    at = time(9 + n % 9, (n * 17) % 60)
    return timezone.make_aware(datetime.combine(day, at))
