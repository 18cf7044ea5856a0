"""Issue 27 item 2: the admin's index is the staff's dashboard: what needs doing today and how the
shop is doing, per role, each figure a link to the list behind it, at a fixed number of queries."""

import re
from contextlib import ExitStack
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from commerce.database import context_aliases, database_for
from commerce.eventbus.models import Delivery, OutboxMessage
from contexts.dashboard import dashboard_for
from contexts.inventory.models import StockLevel, Warehouse
from contexts.orders.models import Order, Payment, Return
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


def figures(page: str) -> dict[str, tuple[str, str]]:
    """label → (value, link) of every figure on the dashboard."""
    found = re.findall(
        r'<a class="shop-figure[^"]*" href="([^"]+)">\s*<span class="shop-figure-label">([^<]+)</span>\s*'
        r'<strong class="shop-figure-value">([^<]+)</strong>',
        page,
    )
    return {label: (value, link.replace("&amp;", "&")) for link, label, value in found}


def aged(order: Order, days: int) -> Order:
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=days))
    return order


@pytest.fixture
def shop():
    """Three orders to ship (one 3 days old), one delivered a week ago with a return waiting, one
    cancelled today, one whose payment has been pending for an hour; a low stock level; a dead letter."""
    old = aged(OrderFactory(), 3)
    OrderFactory(), OrderFactory(status="partially_shipped")
    delivered = aged(OrderFactory(status="delivered", total=Decimal("100.00")), 6)
    Return.objects.create(order=delivered, reason="too small")
    OrderFactory(status="cancelled")
    stuck = OrderFactory(status="pending")
    Payment.objects.filter(order=stuck).update(status="pending", created_at=timezone.now() - timedelta(hours=1))
    OrderFactory(currency="GBP", total=Decimal("20.00"))
    warehouse = Warehouse.objects.create(code="BER", name="Berlin")
    StockLevel.objects.create(sku="MUG", warehouse=warehouse, on_hand=2)
    StockLevel.objects.create(sku="TEE-M", warehouse=warehouse, on_hand=50)
    message = OutboxMessage.objects.create(
        event_id="00000000-0000-0000-0000-000000000001",
        event_type="orders.OrderPlaced",
        payload={},
        occurred_at=timezone.now(),
    )
    Delivery.objects.create(message=message, subscription="s", status="dead", next_attempt_at=timezone.now())
    return old


def test_a_superuser_sees_what_needs_doing_and_how_the_week_went(staff, shop):
    client = staff(None)
    page = client.get("/admin/").content.decode()
    shown = figures(page)
    assert shown["Orders to ship"] == ("4", "/admin/orders/order/?status__in=confirmed,partially_shipped")
    assert shown["Returns waiting"] == ("1", "/admin/orders/return/?status__in=requested,receiving")
    assert shown["Payments needing attention"] == ("1", "/admin/orders/order/?attention=payment")
    assert shown["Low stock levels (SKU × warehouse)"] == ("1", "/admin/inventory/stocklevel/?stock=low")
    # one figure, labelled with its database in split mode (each database's list is its own page)
    assert [value for label, (value, _) in shown.items() if label.startswith("Dead-lettered deliveries")] == ["1"]
    assert "oldest waiting 3\xa0days" in page
    # sales: placed and not cancelled; today two EUR orders (31.90 each), the week adds the one of 3 days
    # ago and the delivered one (100.00); nothing pending or cancelled
    assert shown["Today (EUR)"][0] == "63.80 EUR"
    assert shown["Last 7 days (EUR)"][0] == "195.70 EUR"
    assert shown["Today (GBP)"][0] == "20.00 GBP"
    assert page.count('class="shop-chart"') == 2, "one chart per currency"
    assert "cdn" not in page.lower() and "<script" not in page.split('id="shop-dashboard"')[1].split("</section>")[0]


def test_every_figure_links_to_the_list_that_counts_the_same(staff, shop):
    client = staff(None)
    page = client.get("/admin/").content.decode()
    shown = figures(page)
    for label in (
        "Orders to ship",
        "Returns waiting",
        "Payments needing attention",
        "Low stock levels (SKU × warehouse)",
    ):
        value, link = shown[label]
        listing = client.get(link)
        assert listing.status_code == 200, label
        counted = re.search(r'<p class="paginator">\s*(\d+) ', listing.content.decode())
        assert counted and counted.group(1) == value, (label, link)
    for label in ("Today (EUR)", "Last 7 days (EUR)", "Today (GBP)"):
        detail = re.search(rf'{re.escape(label)}</span>.*?class="shop-figure-detail">(\d+) orders?<', page, re.S)
        listing = client.get(shown[label][1]).content.decode()
        counted = re.search(r'<p class="paginator">\s*(\d+) ', listing)
        assert detail and counted and counted.group(1) == detail.group(1), label


def test_each_role_sees_only_the_blocks_it_may_open(staff, shop):
    warehouse = figures(staff("warehouse").get("/admin/").content.decode())
    assert set(warehouse) == {"Orders to ship", "Low stock levels (SKU × warehouse)"}, "no money, no returns, no bus"
    service = figures(staff("customer_service").get("/admin/").content.decode())
    assert {"Orders to ship", "Returns waiting", "Payments needing attention", "Today (EUR)"} <= set(service)
    assert "Dead-lettered deliveries" not in service
    merchandisers = figures(staff("merchandisers").get("/admin/").content.decode())
    assert set(merchandisers) == {"Low stock levels (SKU × warehouse)"}


def build(client) -> list[dict]:
    """The queries building the dashboard sends, to every database (each context's own in split mode)."""
    request = RequestFactory().get("/admin/")
    request.user = client.user
    request.user.has_perm("orders.view_order")  # the user's permissions, cached as the admin's index has them
    with ExitStack() as stack:
        captured = [stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections]
        dashboard_for(request)
    return [query for capture in captured for query in capture.captured_queries]


def test_the_dashboard_costs_a_fixed_number_of_queries_whatever_the_shop_holds(staff, shop):
    """Orders: to ship, returns, payments, sales (4); stock: count and the lowest (2); the bus: one per
    database. The same with ten times the orders, stock levels and dead letters."""
    client = staff(None)
    expected = 4 + 2 + len(set(context_aliases()))
    assert len(build(client)) == expected
    for _ in range(10):
        OrderFactory(), OrderFactory(status="delivered")
    for n in range(10):
        StockLevel.objects.create(sku=f"LOW-{n}", warehouse=Warehouse.objects.get(), on_hand=1)
    assert len(build(client)) == expected


def test_the_dashboard_reads_no_context_s_tables_from_another_s_query(staff, shop):
    """Each query touches the tables of one context (or of the bus): it reads each through its own
    api or selectors, never a join across them."""
    owners = {"orders_": "orders", "inventory_": "inventory", "eventbus_": "eventbus"}
    for query in build(staff(None)):
        tables = set(re.findall(r'"((?:orders|inventory|eventbus|catalogue|pricing|cart|identity)_\w+)"', query["sql"]))
        contexts = {owner for prefix, owner in owners.items() for table in tables if table.startswith(prefix)}
        assert len(contexts) == 1 and tables, query["sql"]


def test_an_empty_shop_shows_zeros_and_an_empty_chart(staff):
    page = staff(None).get("/admin/").content.decode()
    shown = figures(page)
    assert shown["Orders to ship"][0] == "0" and shown["Oldest pending event"][0] == "none"
    assert "Orders (bars) and revenue in EUR (line) per day" in page


def dead_letter(alias: str, n: int) -> None:
    message = OutboxMessage.objects.using(alias).create(
        event_id=f"00000000-0000-0000-0000-0000000001{n:02d}",
        event_type="orders.OrderPlaced",
        payload={},
        occurred_at=timezone.now(),
    )
    Delivery.objects.using(alias).create(
        message=message, subscription="s", status="dead", next_attempt_at=timezone.now()
    )


def test_each_dead_letter_figure_opens_the_list_of_the_database_that_holds_them(staff):
    """In split mode each context's deliveries live in its own database: a figure summing them all would
    open a list of ``default``'s only. Each figure counts what its link lists (one figure unless split)."""
    dead_letter(database_for("orders"), 1)
    dead_letter(database_for("orders"), 2)
    dead_letter(database_for("inventory"), 3)
    client = staff(None)
    shown = {
        label: figure for label, figure in figures(client.get("/admin/").content.decode()).items() if "Dead" in label
    }
    databases = {database_for("orders"), database_for("inventory")}
    assert len(shown) == len(databases), shown
    total = 0
    for label, (value, link) in shown.items():
        listing = client.get(link).content.decode()
        counted = re.search(r'<p class="paginator">\s*(\d+) ', listing)
        assert counted and counted.group(1) == value, (label, link)
        total += int(value)
    assert total == 3


def test_a_chart_without_revenue_says_0_on_its_axis_and_its_ids_hold_no_markup():
    from datetime import date

    from contexts.dashboard import ChartDay, chart_svg

    days = [ChartDay(date(2026, 12, n), 0, Decimal(0)) for n in range(1, 8)]
    svg = str(chart_svg(days, 'EUR"><script>'))
    revenue_axis = re.findall(r'class="legend-revenue"[^>]*>([^<]*)<', svg)
    assert revenue_axis[0] == "0", revenue_axis
    assert "<script>" not in svg and all(re.fullmatch(r"[\w-]+", i) for i in re.findall(r'id="([^"]*)"', svg))


def test_the_low_stock_figure_says_it_counts_stock_levels_as_its_list_does(staff):
    """Two warehouses low on one SKU are two rows of the list it opens: the label says what it counts."""
    for code in ("BER", "HAM"):
        StockLevel.objects.create(sku="MUG", warehouse=Warehouse.objects.create(code=code, name=code), on_hand=1)
    shown = figures(staff(None).get("/admin/").content.decode())
    assert shown["Low stock levels (SKU × warehouse)"][0] == "2"
