"""POST /checkout end to end through the REST API: the happy path and every failure path of API.md.

A failure before the order exists leaves nothing; a failure after leaves a ``failed`` order with no
stock held, no voucher used and no money taken.
"""

from decimal import Decimal

import pytest

from contexts.cart import api as cart_api
from contexts.orders.models import GatewayCharge, Order, SagaStep
from contexts.pricing import api as pricing_api
from tests.support.checkout import (
    assert_left_nothing_behind,
    available,
    checkout_body,
    gateway_net,
    new_cart,
    post_checkout,
    published,
    voucher_uses,
)

pytestmark = pytest.mark.django_db


def money(amount: str) -> dict:
    return {"amount": amount, "currency": "EUR"}


def test_a_guest_checks_out_and_gets_a_confirmed_order_priced_by_pricing(api_client, shop):
    cart_id = new_cart({"TEE-M": 2}, vouchers=("WELCOME10",))

    response = post_checkout(api_client, checkout_body(cart_id))

    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["status"] == "confirmed" and order["number"].isdigit()
    assert order["email"] == "guest@example.com"
    (line,) = order["lines"]
    assert line["sku"] == "TEE-M" and line["name"] == "Tee — Medium" and line["quantity"] == 2
    assert line["unit_price"] == money("20.00") and line["discount"] == money("4.00")
    assert line["tax_rate"] == "19.00" and line["line_total"] == money("36.00")
    assert order["subtotal"] == money("40.00") and order["discount_total"] == money("4.00")
    assert order["shipping_method"] == "standard" and order["shipping_total"] == money("4.90")
    assert order["total"] == money("40.90")
    quoted = pricing_api.quote(
        lines=[pricing_api.QuoteLineRequest(sku="TEE-M", quantity=2)],
        currency="EUR",
        voucher_codes=("WELCOME10",),
        country="DE",
        shipping_method="standard",
    )
    assert order["tax_total"] == money(str(quoted.tax_total))
    assert order["vouchers"] == ["WELCOME10"]
    assert order["shipping_address"]["city"] == "Berlin" and order["shipping_address"]["country"] == "DE"
    assert order["payment"]["status"] == "captured" and order["payment"]["amount"] == money("40.90")
    assert [entry["status"] for entry in order["history"]] == ["pending", "confirmed"]
    # stock allocated, voucher used, money captured once, cart closed, the event out
    assert available("TEE-M") == 8
    assert voucher_uses() == 1
    assert gateway_net() == Decimal("40.90") and GatewayCharge.objects.count() == 1
    assert cart_api.get_cart_for_checkout(cart_id=cart_id, customer_id=None).status == "checked_out"
    (placed,) = published("orders.OrderPlaced")
    assert placed["number"] == order["number"] and placed["total"] == "40.90"
    # the saga's log, step by step
    assert list(SagaStep.objects.filter(saga_id=order["id"]).values_list("name", "outcome")) == [
        ("create_order", "done"),
        ("claim_cart", "done"),
        ("reserve_stock", "done"),
        ("redeem_voucher", "done"),
        ("authorize_payment", "done"),
        ("capture_payment", "done"),
        ("commit_reservation", "done"),
        ("close_cart", "done"),
        ("confirm_order", "done"),
    ]
    # a guest reaches the order by its id alone
    assert api_client.get(f"/api/v1/orders/{order['id']}").json()["number"] == order["number"]


def test_prices_are_taken_at_checkout_and_the_order_keeps_its_snapshot(api_client, shop):
    cart_id = new_cart({"MUG": 1})
    pricing_api.set_base_price(sku="MUG", currency="EUR", amount=Decimal("9.50"))

    order = post_checkout(api_client, checkout_body(cart_id)).json()
    assert order["lines"][0]["unit_price"] == money("9.50")

    pricing_api.set_base_price(sku="MUG", currency="EUR", amount=Decimal("12.00"))
    again = api_client.get(f"/api/v1/orders/{order['id']}").json()
    assert again["lines"][0]["unit_price"] == money("9.50") and again["total"] == order["total"]


def test_a_customer_checks_out_with_the_account_email_and_sees_the_order_in_their_list(customer_client, shop):
    customer = customer_client.customer
    cart_id = new_cart({"MUG": 2}, customer_id=customer.pk)

    created = post_checkout(customer_client, checkout_body(cart_id, email=None))

    assert created.status_code == 201, created.json()
    assert created.json()["email"] == customer.email
    listing = customer_client.get("/api/v1/orders").json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == created.json()["id"]


def test_someone_elses_order_is_not_found(customer_client, api_client, shop):
    from tests.identity.factories import CustomerFactory

    other = CustomerFactory()
    cart_id = new_cart({"MUG": 1}, customer_id=other.pk)
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(other).access_token}")
    order_id = post_checkout(other_client, checkout_body(cart_id, email=None)).json()["id"]

    for client in (customer_client, api_client):
        for response in (
            client.get(f"/api/v1/orders/{order_id}"),
            client.post(f"/api/v1/orders/{order_id}/cancel"),
            client.get(f"/api/v1/orders/{order_id}/returns"),
        ):
            assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert customer_client.get("/api/v1/orders").json()["count"] == 0
    assert Order.objects.get(pk=order_id).status == "confirmed"


def test_a_client_cannot_set_prices_status_or_owner(api_client, shop):
    cart_id = new_cart({"MUG": 1})
    response = post_checkout(
        api_client, checkout_body(cart_id, total={"amount": "0.01", "currency": "EUR"}, status="delivered")
    )
    assert response.status_code == 400 and set(response.json()["errors"]) == {"total", "status"}
    assert not Order.objects.exists() and gateway_net() == 0


# --- Refused before an order exists ----------------------------------------------------------------


def test_an_empty_cart_is_refused(api_client, shop):
    response = post_checkout(api_client, checkout_body(new_cart({})))
    assert response.status_code == 400 and response.json()["code"] == "cart_empty"
    assert not Order.objects.exists()


def test_no_shipping_method_is_refused(api_client, shop):
    response = post_checkout(api_client, checkout_body(new_cart({"MUG": 1}), method=None))
    assert response.status_code == 400 and response.json()["code"] == "shipping_method_required"
    assert not Order.objects.exists() and available("MUG") == 100


def test_a_method_that_does_not_serve_the_country_is_refused(api_client, shop):
    body = checkout_body(
        new_cart({"MUG": 1}), method="express", address={**checkout_body(None)["shipping_address"], "country": "FR"}
    )
    response = post_checkout(api_client, body)
    assert response.status_code == 409 and response.json()["code"] == "shipping_unavailable"
    assert not Order.objects.exists() and available("MUG") == 100


def test_a_voucher_that_stopped_being_valid_is_refused(api_client, shop):
    cart_id = new_cart({"TEE-M": 2}, vouchers=("WELCOME10",))
    from contexts.pricing.models import Voucher

    Voucher.objects.filter(code="WELCOME10").update(is_active=False)  # staff switched it off meanwhile
    response = post_checkout(api_client, checkout_body(cart_id))
    assert response.status_code == 409 and response.json()["code"] == "voucher_invalid"
    assert not Order.objects.exists() and available("TEE-M") == 10 and voucher_uses() == 0


def test_an_unknown_payment_token_is_a_400(api_client, shop):
    response = post_checkout(api_client, checkout_body(new_cart({"MUG": 1}), token="tok_free_money"))
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert not Order.objects.exists()


def test_a_guest_must_give_an_email(api_client, shop):
    response = post_checkout(api_client, checkout_body(new_cart({"MUG": 1}), email=None))
    assert response.status_code == 400 and "email" in response.json()["errors"]


def test_a_checked_out_cart_cannot_be_checked_out_again(api_client, shop):
    cart_id = new_cart({"MUG": 1})
    assert post_checkout(api_client, checkout_body(cart_id)).status_code == 201
    response = post_checkout(api_client, checkout_body(cart_id))
    assert response.status_code == 409 and response.json()["code"] == "cart_closed"
    assert Order.objects.count() == 1 and GatewayCharge.objects.count() == 1


# --- Failed after the order exists: compensated --------------------------------------------------


def test_not_enough_stock_fails_the_order_and_holds_nothing(api_client, shop):
    cart_id = new_cart({"TEE-M": 2, "MUG": 1}, vouchers=("WELCOME10",))
    from contexts.inventory import api as inventory_api

    inventory_api.set_stock_level(sku="TEE-M", warehouse_code="MAIN", on_hand=1, reference="stock-take")

    response = post_checkout(api_client, checkout_body(cart_id))

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["lines"] == [{"sku": "TEE-M", "requested": 2, "available": 1}]
    order = Order.objects.get()
    assert_left_nothing_behind(order.pk, stock={"TEE-M": 1, "MUG": 100})
    assert published("orders.OrderFailed")[0]["reason"] == "insufficient_stock"
    assert cart_api.get_cart_for_checkout(cart_id=cart_id, customer_id=None).status == "open"


@pytest.mark.parametrize(
    ("token", "status", "code"), [("tok_declined", 402, "payment_declined"), ("tok_error", 502, "payment_error")]
)
def test_a_refused_payment_fails_the_order_and_gives_everything_back(api_client, shop, token, status, code):
    cart_id = new_cart({"TEE-M": 2}, vouchers=("WELCOME10",))

    response = post_checkout(api_client, checkout_body(cart_id, token=token))

    assert response.status_code == status
    assert response.json()["code"] == code
    order_id = response.json()["order_id"]
    assert_left_nothing_behind(order_id, stock={"TEE-M": 10})
    assert Order.objects.get(pk=order_id).payment.status in ("declined", "failed")
    compensations = SagaStep.objects.filter(saga_id=order_id, compensation=True).values_list("name", flat=True)
    assert list(compensations) == [
        "refund_or_void_payment",
        "unredeem_voucher",
        "release_stock",
        "release_cart",
        "mark_failed",
    ]
    assert cart_api.get_cart_for_checkout(cart_id=cart_id, customer_id=None).status == "open"


def test_a_lost_gateway_answer_is_found_by_its_key_and_ends_in_a_confirmed_order(api_client, shop):
    cart_id = new_cart({"TEE-M": 1})

    response = post_checkout(api_client, checkout_body(cart_id, token="tok_timeout"))

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "confirmed"
    charge = GatewayCharge.objects.get()
    assert charge.captured == Decimal("24.90") and charge.refunded == 0
    assert Order.objects.get().payment.captured == Decimal("24.90")


def test_a_checkout_costs_orders_a_fixed_number_of_queries_whatever_its_lines(api_client, shop, context_connection):
    """Orders' own reads and writes (order, lines, payment, saga log, idempotency record, the test
    gateway's ledger) per checkout; the other contexts' share is theirs to budget."""
    from django.test.utils import CaptureQueriesContext

    def orders_queries(lines: dict[str, int]) -> int:
        cart_id = new_cart(lines, vouchers=("WELCOME10",))
        with CaptureQueriesContext(context_connection("orders")) as captured:
            response = post_checkout(api_client, checkout_body(cart_id))
        assert response.status_code == 201
        return sum('"orders_' in query["sql"] for query in captured.captured_queries)

    orders_queries({"MUG": 3})  # the first order of a shop creates the number counter
    one_line = orders_queries({"TEE-M": 2})
    three_lines = orders_queries({"TEE-M": 1, "TEE-L": 1, "MUG": 2})
    assert one_line == three_lines
    # 37 before the saga had its own row (its insert and final update) and the cart claim (its log row)
    assert three_lines <= 40, three_lines


def test_an_unknown_cart_is_not_found_whatever_else_the_body_lacks(api_client, shop):
    import uuid

    response = post_checkout(api_client, {"cart_id": str(uuid.uuid4()), "payment": {"token": "tok_ok"}})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert not Order.objects.exists()


@pytest.fixture
def address_book():
    from contexts.orders import api
    from contexts.orders.services import _checkout

    saved = {}
    identitys = list(_checkout._address_book)
    api.register_address_book(resolver=lambda customer_id, address_id: saved.get((customer_id, address_id)))
    yield saved
    _checkout._address_book[:] = identitys  # what the wiring lent at start-up, for the tests after this one


def test_a_saved_address_is_used_when_identity_lends_its_address_book(customer_client, shop, address_book):
    from contexts.orders import api

    customer = customer_client.customer
    address_book[(customer.pk, 5)] = api.Address(
        full_name="Saved Name",
        line1="Saved Street 5",
        line2="",
        city="Hamburg",
        postal_code="20095",
        country="DE",
        phone="",
    )
    cart_id = new_cart({"MUG": 1}, customer_id=customer.pk)
    body = {"cart_id": str(cart_id), "address_id": 5, "shipping_method": "standard", "payment": {"token": "tok_ok"}}

    response = post_checkout(customer_client, body)

    assert response.status_code == 201, response.json()
    assert response.json()["shipping_address"]["city"] == "Hamburg"
    second_cart = new_cart({"MUG": 1}, customer_id=customer.pk)
    other = post_checkout(customer_client, {**body, "cart_id": str(second_cart), "address_id": 6})
    assert other.status_code == 400 and "address_id" in other.json()["errors"]


def test_without_an_address_book_a_saved_address_is_refused(customer_client, shop):
    cart_id = new_cart({"MUG": 1}, customer_id=customer_client.customer.pk)
    body = {"cart_id": str(cart_id), "address_id": 5, "shipping_method": "standard", "payment": {"token": "tok_ok"}}
    response = post_checkout(customer_client, body)
    assert response.status_code == 400 and "address_id" in response.json()["errors"]
    assert not Order.objects.exists()


def test_order_numbers_are_given_at_confirmation_so_failed_attempts_use_none(api_client, shop):
    declined = post_checkout(api_client, checkout_body(new_cart({"MUG": 1}), token="tok_declined"))
    failed_again = post_checkout(api_client, checkout_body(new_cart({"MUG": 1}), token="tok_error"))
    assert (declined.status_code, failed_again.status_code) == (402, 502)

    first = post_checkout(api_client, checkout_body(new_cart({"MUG": 1})))
    second = post_checkout(api_client, checkout_body(new_cart({"TEE-M": 1})))

    assert (first.json()["number"], second.json()["number"]) == ("100001", "100002")
    failed = api_client.get(f"/api/v1/orders/{declined.json()['order_id']}").json()
    assert failed["status"] == "failed" and failed["number"] is None
    assert published("orders.OrderFailed")[0]["number"] is None
    assert [payload["number"] for payload in published("orders.OrderPlaced")] == ["100001", "100002"]


def test_an_edit_made_after_checkout_read_the_cart_is_not_dropped_the_checkout_asks_again(
    api_client, shop, monkeypatch
):
    cart_id = new_cart({"TEE-M": 1})
    real_quote = pricing_api.quote

    def quote_then_the_customer_adds_a_mug(**kwargs):  # an edit between the cart read and its claim
        quoted = real_quote(**kwargs)
        monkeypatch.setattr(pricing_api, "quote", real_quote)
        assert (
            api_client.post(f"/api/v1/carts/{cart_id}/lines", {"sku": "MUG", "quantity": 1}, format="json").status_code
            == 201
        )
        return quoted

    monkeypatch.setattr(pricing_api, "quote", quote_then_the_customer_adds_a_mug)
    refused = post_checkout(api_client, checkout_body(cart_id))

    assert refused.status_code == 409 and refused.json()["code"] == "cart_changed", refused.json()
    assert_left_nothing_behind(Order.objects.get().pk, stock={"TEE-M": 10, "MUG": 100})
    placed = post_checkout(api_client, checkout_body(cart_id))  # the cart as it is now, mug included
    assert placed.status_code == 201, placed.json()
    assert [(line["sku"], line["quantity"]) for line in placed.json()["lines"]] == [("TEE-M", 1), ("MUG", 1)]


def test_a_customer_erased_while_their_checkout_runs_is_not_charged_for_an_order_nobody_can_ship(
    customer_client, shop, monkeypatch
):
    """The order created just before ``DELETE /me`` is anonymised with the others; its saga must not go on
    to take money for it (no name, address or email left): it fails ``account_closed`` before the card."""
    from contexts.orders import api as orders_api
    from contexts.orders.services import _saga

    customer = customer_client.customer
    cart_id = new_cart({"MUG": 2}, customer_id=customer.pk)

    def erase_after_the_vouchers(order_id, step):
        if step == "redeem_voucher":
            orders_api.anonymise_customer_orders(customer_id=customer.pk)

    monkeypatch.setattr(_saga, "checkpoint", erase_after_the_vouchers)
    response = post_checkout(customer_client, checkout_body(cart_id, email=None))

    assert (response.status_code, response.json()["code"]) == (403, "account_closed"), response.json()
    order = Order.objects.get()
    assert order.status == "failed" and order.email == ""
    assert GatewayCharge.objects.count() == 0 and gateway_net() == Decimal("0.00")
    assert available("MUG") == 100
