"""Issue 27 item 5: the staff's admin in a real browser at 1400 px: the dashboard per role, shipping
from an order's page, cancelling with confirmation, receiving a return (the refund), and lists that fit.

Each journey saves a screenshot in ``.ci/artifacts/browser/`` (``admin-*.png``) for a reviewer to look
at, whether it passes or fails.
"""

import re
from decimal import Decimal

import pytest

from contexts.identity.models import User
from contexts.orders import services
from contexts.orders.models import Order, Return
from contexts.pricing import api as pricing_api
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_staff_journeys import PASSWORD, log_in, placed_order, staff_member

try:
    from playwright.sync_api import expect
except ImportError:  # the ``chromium`` fixture skips (or fails under CI) with the reason
    expect = None

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1400, "height": 1000}


def snap(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


def dashboard_figure(page, label: str):
    return page.locator("#shop-dashboard a.shop-figure", has=page.locator(".shop-figure-label", has_text=label))


def open_order(page, order: Order) -> None:
    page.goto(f"/admin/orders/order/{order.pk}/change/")
    expect(page.locator(".field-number .readonly")).to_have_text(order.number)


def test_the_warehouse_s_dashboard_shows_orders_to_ship_and_stock_and_no_money(page, api_client):
    page.set_viewport_size(WIDE)
    order = placed_order(api_client)
    log_in(page, staff_member("warehouse"))
    to_ship = dashboard_figure(page, "Orders to ship")
    expect(to_ship.locator(".shop-figure-value")).to_have_text("1")
    expect(dashboard_figure(page, "Low stock levels (SKU × warehouse)")).to_be_visible()
    expect(page.locator("#shop-dashboard")).not_to_contain_text("Payments needing attention")
    expect(page.locator("#shop-dashboard svg.shop-chart")).to_have_count(0)
    snap(page, "dashboard-warehouse")
    to_ship.click()
    expect(page.locator("#result_list tbody tr", has_text=order.number)).to_have_count(1)


def test_customer_service_s_dashboard_shows_the_week_s_sales_and_the_chart(page, api_client):
    page.set_viewport_size(WIDE)
    order = placed_order(api_client)
    log_in(page, staff_member("customer_service"))
    expect(dashboard_figure(page, "Returns waiting")).to_be_visible()
    today = dashboard_figure(page, "Today (EUR)")
    expect(today.locator(".shop-figure-value")).to_have_text(f"{order.total:,.2f} EUR")
    chart = page.locator("#shop-dashboard svg.shop-chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["width"] > 400 and box["height"] > 100, "a picture, not a sliver"
    expect(chart.locator("rect.bar")).to_have_count(30)
    snap(page, "dashboard-customer-service")
    today.click()
    expect(page.locator("#result_list tbody tr", has_text=order.number)).to_have_count(1)


def test_a_warehouse_user_ships_an_order_from_its_page(page, api_client):
    page.set_viewport_size(WIDE)
    order = placed_order(api_client)
    log_in(page, staff_member("warehouse"))
    open_order(page, order)
    expect(page.locator('input[name="_save"]')).to_have_count(0)
    transitions = page.locator("nav.order-transitions")
    expect(transitions.get_by_role("link")).to_have_text(["Ship"])
    snap(page, "order-page-warehouse")
    transitions.get_by_role("link", name="Ship").click()
    expect(page.get_by_text("Every line not shipped yet")).to_be_visible()
    page.get_by_role("button", name="Yes, ship").click()
    expect(page.locator(".messagelist .success")).to_have_text("Orders shipped: 1.")
    expect(page.locator(".field-status .readonly")).to_have_text("Shipped")
    expect(transitions.get_by_role("link")).to_have_text(["Mark delivered"])
    snap(page, "order-shipped")
    order.refresh_from_db()
    assert order.status == "shipped" and order.shipments.count() == 1


def test_customer_service_cancels_an_order_after_confirming(page, api_client):
    page.set_viewport_size(WIDE)
    order = placed_order(api_client)
    log_in(page, staff_member("customer_service"))
    open_order(page, order)
    page.locator("nav.order-transitions").get_by_role("link", name="Cancel and refund").click()
    expect(page.get_by_text("This cannot be undone.")).to_be_visible()
    snap(page, "cancel-confirmation")
    page.get_by_role("link", name="No, take me back").click()
    expect(page.locator(".field-status .readonly")).to_have_text("Confirmed")
    order.refresh_from_db()
    assert order.status == "confirmed", "going back changes nothing"
    page.locator("nav.order-transitions").get_by_role("link", name="Cancel and refund").click()
    page.get_by_role("button", name="Yes, cancel and refund").click()
    expect(page.locator(".messagelist .success")).to_have_text("Orders cancelled: 1.")
    expect(page.locator(".field-status .readonly")).to_have_text("Cancelled")
    snap(page, "order-cancelled")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.payment.refunded == order.payment.captured > 0


def test_customer_service_receives_a_return_and_the_customer_is_refunded(page, api_client):
    page.set_viewport_size(WIDE)
    order = placed_order(api_client)
    services.ship_order(order_id=order.pk)
    ret = services.request_return(
        order_id=order.pk, customer_id=order.customer_id, lines=[("MUG", 1)], reason="chipped"
    )
    log_in(page, staff_member("customer_service"))
    dashboard_figure(page, "Returns waiting").click()
    row = page.locator("#result_list tbody tr", has_text=order.number)
    expect(row).to_contain_text("1 × MUG")
    row.get_by_role("link", name=re.compile(f"Return of order {order.number}")).click()
    page.get_by_role("link", name=order.number).click()
    page.locator("nav.order-transitions").get_by_role("link", name=re.compile("Receive return and refund")).click()
    expect(page.get_by_text("1 × MUG")).to_be_visible()
    page.get_by_role("button", name="Yes, receive return and refund").click()
    expect(page.locator(".messagelist .success")).to_have_text("Returns received: 1.")
    expect(page.locator(".inline-group", has_text="Refunds")).to_contain_text("Return")
    snap(page, "return-refunded")
    ret = Return.objects.get(pk=ret.pk)
    assert ret.status == "received" and ret.refund.completed and ret.refund.amount > 0


LISTS = {  # list → the role that reads it
    "orders/order": "customer_service",
    "orders/return": "customer_service",
    "orders/gatewaycharge": "customer_service",
    "inventory/stocklevel": "warehouse",
    "inventory/stockmovement": "warehouse",
    "catalogue/product": "merchandisers",
    "pricing/price": "merchandisers",
    "pricing/voucher": "merchandisers",
    "pricing/promotion": "merchandisers",
    "identity/user": None,  # a superuser sees staff accounts too
    "notifications/message": "customer_service",
    "eventbus/outboxmessage": None,  # the event bus: superusers only
    "eventbus/inboxentry": None,
}


def reader(role: str | None) -> User:
    """A member of ``role``, or a superuser for the lists no role opens."""
    if role is not None:
        return staff_member(role)
    return User.objects.create_user("superuser@example.com", PASSWORD, is_staff=True, is_superuser=True)


@pytest.mark.parametrize("path", LISTS)
def test_lists_fit_1400_px_without_scrolling_sideways(page, api_client, path):
    page.set_viewport_size(WIDE)
    order = placed_order(api_client)
    services.ship_order(order_id=order.pk)
    services.request_return(order_id=order.pk, customer_id=order.customer_id, lines=[("MUG", 1)], reason="chipped")
    pricing_api.create_promotion(
        name="Winter sale on mugs", kind="percentage", value=Decimal("10"), scope="skus", skus=["MUG"]
    )
    User.objects.create_user(  # a customer whose name and address are long, as real ones can be
        "maximilian.alexander.oberhausen-wittgenstein@example-mail.com",
        "x-long-enough-pass-1",
        first_name="Maximilian Alexander",
        last_name="Oberhausen-Wittgenstein",
    )
    log_in(page, reader(LISTS[path]))
    page.goto(f"/admin/{path}/")
    results = page.locator("#changelist .results")
    expect(results.locator("tbody tr").first).to_be_visible()
    overflow = results.evaluate("el => el.scrollWidth - el.clientWidth")
    snap(page, f"list-{path.replace('/', '-')}")
    assert overflow <= 0, f"/admin/{path}/ is {overflow} px wider than the page at 1400 px"
