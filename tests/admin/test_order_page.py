"""Issue 27 item 3: an order's page is read-only (no Save), offers the transitions its status allows as
buttons to the roles that may run them, asks for confirmation, runs the same services as the list's
actions, and shows the saga log with neutral marks for normal steps."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from contexts.orders import services
from contexts.orders.models import CheckoutSaga, Order, Return, SagaStep
from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def order(api_client) -> Order:
    build_shop()
    response = post_checkout(api_client, checkout_body(new_cart({"TEE-M": 2, "MUG": 1})))
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=response.json()["id"])


def page_of(client, order: Order) -> str:
    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def buttons(page: str) -> dict[str, str]:
    nav = page.split('class="order-transitions"')[1].split("</nav>")[0]
    return {label: url for url, label in re.findall(r'<a class="button[^"]*" href="([^"]+)">([^<]+)</a>', nav)}


def test_an_order_s_page_has_no_save_and_refuses_a_posted_form(staff, order):
    client = staff("customer_service")
    page = page_of(client, order)
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    answer = client.post(reverse("admin:orders_order_change", args=[order.pk]), {"status": "delivered"})
    assert answer.status_code == 403
    order.refresh_from_db()
    assert order.status == "confirmed"


def test_each_role_is_offered_the_transitions_it_may_run_in_the_order_s_status(staff, order):
    assert set(buttons(page_of(staff("customer_service"), order))) == {"Ship", "Cancel and refund"}
    assert set(buttons(page_of(staff("warehouse"), order))) == {"Ship"}, "the warehouse never cancels"
    assert staff("merchandisers").get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 403


def test_shipping_from_the_order_s_page_asks_first_then_runs_the_service(staff, order):
    client = staff("warehouse")
    url = buttons(page_of(client, order))["Ship"]
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Every line not shipped yet" in confirm.content.decode()
    order.refresh_from_db()
    assert order.status == "confirmed", "nothing happens before the confirmation"
    done = client.post(url, follow=True)
    assert "Orders shipped: 1." in done.content.decode()
    order.refresh_from_db()
    assert order.status == "shipped" and order.shipments.count() == 1
    assert set(buttons(page_of(client, order))) == {"Mark delivered"}


def test_a_role_without_the_permission_cannot_run_the_transition_by_its_url(staff, order):
    client = staff("warehouse")
    url = reverse("admin:orders_order_transition", args=[order.pk, "cancel"])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    order.refresh_from_db()
    assert order.status == "confirmed"


def test_a_transition_the_status_no_longer_allows_is_refused_with_a_message(staff, order):
    client = staff("customer_service")
    services.ship_order(order_id=order.pk)
    done = client.post(reverse("admin:orders_order_transition", args=[order.pk, "cancel"]), follow=True)
    assert "cannot be cancelled" in done.content.decode()
    order.refresh_from_db()
    assert order.status == "shipped"


def test_receiving_a_return_from_the_order_s_page_refunds_it(staff, order):
    client = staff("customer_service")
    services.ship_order(order_id=order.pk)
    ret = services.request_return(
        order_id=order.pk, customer_id=order.customer_id, lines=[("MUG", 1)], reason="chipped"
    )
    url = next(v for k, v in buttons(page_of(client, order)).items() if k.startswith("Receive return"))
    assert "MUG" in client.get(url).content.decode()
    client.post(url)
    ret = Return.objects.get(pk=ret.pk)
    assert ret.status == "received" and ret.refund.completed and ret.refund.amount > 0


def test_the_saga_log_marks_normal_steps_neutral_and_compensations_and_failures_plainly(staff, order):
    saga = CheckoutSaga.objects.get(order=order)
    page = page_of(staff(None), order)
    done_rows = re.findall(r'<tr class="saga-done">', page)
    assert len(done_rows) == saga.steps.filter(outcome=SagaStep.Outcome.DONE).count() > 0
    assert "saga-failed" not in page.split('class="saga-log"')[1].split("</table>")[0]
    first = saga.steps.first()
    SagaStep.objects.create(
        saga=saga, name="reserve_stock", compensation=True, outcome="done", started_at=first.started_at, duration_ms=1
    )
    SagaStep.objects.create(
        saga=saga, name="charge", outcome="failed", error="declined", started_at=first.started_at, duration_ms=1
    )
    log = page_of(staff(None), order).split('class="saga-log"')[1].split("</table>")[0]
    assert '<tr class="saga-compensation">' in log and "undo reserve_stock" in log
    assert '<tr class="saga-failed">' in log and "declined" in log


def test_money_on_the_order_s_page_carries_its_currency(staff, order):
    page = page_of(staff(None), order)
    assert f"{order.total:,.2f} EUR" in page


def test_an_order_s_page_links_to_its_customer_cart_shipments_and_charge(staff, order, customer):
    Order.objects.filter(pk=order.pk).update(customer_id=customer.pk)
    services.ship_order(order_id=order.pk)
    order.refresh_from_db()
    page = page_of(staff(None), order)
    assert f'href="/admin/identity/user/{customer.pk}/change/"' in page
    assert f'href="/admin/cart/cart/{order.cart_id}/change/"' in page
    shipment = order.shipments.get()
    assert f'href="/admin/inventory/shipment/{shipment.shipment_id}/change/"' in page
    charge = order.payment.charge_id
    assert f'href="/admin/orders/gatewaycharge/{charge}/change/"' in page


def test_a_charge_is_found_by_its_order_s_number_and_shows_it(staff, order):
    listing = staff(None).get("/admin/orders/gatewaycharge/", {"q": order.number}).content.decode()
    assert order.payment.charge_id in listing
    assert f'<td class="field-order_number">{order.number}</td>' in listing


def test_a_return_is_named_by_its_order_number_and_day_not_by_uuids(staff, order):
    services.ship_order(order_id=order.pk)
    ret = services.request_return(order_id=order.pk, customer_id=order.customer_id, lines=[("MUG", 1)], reason="x")
    order.refresh_from_db()
    page = staff(None).get(reverse("admin:orders_return_change", args=[ret.pk])).content.decode()
    title = re.search(r"<h2>(.*?)</h2>", page, re.S) or re.search(r"<title>(.*?)</title>", page, re.S)
    expected = f"Return of order {order.number} on {timezone.localtime(ret.created_at):%d %b %Y}"
    assert str(Return.objects.get(pk=ret.pk)) == expected
    assert expected in page and str(order.pk) not in title.group(1)


def refunds_line(page: str) -> str:
    found = re.search(r'<p class="order-refunds">(.*?)</p>', page, re.S)
    assert found, "the confirmation says what will be refunded"
    return " ".join(found.group(1).split())


def test_the_cancel_confirmation_says_what_will_be_refunded_and_that_is_what_is_refunded(staff, order):
    client = staff("customer_service")
    url = reverse("admin:orders_order_transition", args=[order.pk, "cancel"])
    said = refunds_line(client.get(url).content.decode())
    client.post(url)
    refunded = order.refunds.get().amount
    assert said == f"Refunds {refunded:,.2f} {order.currency}", said


def test_the_return_confirmation_says_the_returned_lines_share_not_the_order_total(staff, order):
    client = staff("customer_service")
    services.ship_order(order_id=order.pk)
    ret = services.request_return(order_id=order.pk, customer_id=order.customer_id, lines=[("MUG", 1)], reason="x")
    url = reverse("admin:orders_order_receive_return", args=[order.pk, ret.pk])
    said = refunds_line(client.get(url).content.decode())
    assert Return.objects.get(pk=ret.pk).status == "requested", "asking changes nothing"
    client.post(url)
    refunded = Return.objects.get(pk=ret.pk).refund.amount
    assert 0 < refunded < order.total
    assert said == f"Refunds {refunded:,.2f} {order.currency}", said
