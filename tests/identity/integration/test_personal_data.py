"""Personal data: the export, and closing an account (erasure here and, through their api, in orders and cart;
notifications erases on the ``AccountClosed`` event: tests/notifications/integration/test_personal_data.py)."""

import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from commerce.database import database_for
from commerce.eventbus.models import OutboxMessage
from contexts.cart import api as cart_api
from contexts.identity import tasks
from contexts.identity.models import Address, Erasure, User
from contexts.identity.services import personal_data
from contexts.orders import api as orders_api
from contexts.orders.models import Order
from tests.identity.factories import PASSWORD, CustomerFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(customer_client):
    me = customer_client.customer
    Address.objects.create(
        user=me, full_name="Ann Lee", line1="Hauptstr. 1", city="Berlin", country="DE", phone="+49 1"
    )
    OrderFactory(customer_id=me.pk, email=me.email)
    return customer_client


def close(client, password=PASSWORD):
    return client.delete("/api/v1/me", {"password": password}, format="json")


# --- export --------------------------------------------------------------------------------------


def test_export_holds_profile_addresses_and_orders(ann):
    me = ann.customer
    response = ann.get("/api/v1/me/export")
    assert response.status_code == 200
    document = response.json()
    assert document["profile"]["email"] == me.email and document["profile"]["id"] == me.pk
    assert [a["line1"] for a in document["addresses"]] == ["Hauptstr. 1"]
    assert document["addresses"][0]["country"] == "DE"
    (order,) = document["orders"]
    assert order["email"] == me.email
    assert order["total"] == "31.90"  # money as strings, never floats
    assert order["shipping_address"]["full_name"] == "Ada Lovelace"
    assert document["notifications"] == []  # lent by notifications: its own tests fill it


def test_export_holds_nothing_of_another_customer(ann):
    other = CustomerFactory()
    OrderFactory(customer_id=other.pk, email=other.email)
    Address.objects.create(user=other, full_name="Bo", line1="Elsewhere 9", city="Paris", country="FR")
    text = ann.get("/api/v1/me/export").content.decode()
    assert other.email not in text and "Elsewhere 9" not in text


def test_export_holds_each_orders_returns_and_refunds(ann):
    from decimal import Decimal

    from contexts.orders.models import Refund, Return, ReturnLine

    order = Order.objects.get(customer_id=ann.customer.pk)
    ret = Return.objects.create(order=order, status="received", reason="too small", received_at=timezone.now())
    ReturnLine.objects.create(ret=ret, sku="TEE-BLUE-M", quantity=1)
    Refund.objects.create(
        order=order, ret=ret, idempotency_key="return:1", amount=Decimal("13.50"), reason="return", completed=True
    )
    Refund.objects.create(order=order, idempotency_key="return:2", amount=Decimal("1.00"), reason="return")  # not sent

    (exported,) = ann.get("/api/v1/me/export").json()["orders"]

    (returned,) = exported["returns"]
    assert returned["status"] == "received" and returned["reason"] == "too small"
    assert returned["lines"] == [{"sku": "TEE-BLUE-M", "quantity": 1}]
    (refund,) = exported["refunds"]  # only money that went back
    assert (refund["amount"], refund["currency"], refund["reason"]) == ("13.50", "EUR", "return")
    assert refund["return_id"] == str(ret.pk) and refund["at"]


def test_export_needs_a_token(api_client):
    assert api_client.get("/api/v1/me/export").status_code == 401


# --- closing an account ---------------------------------------------------------------------------


def test_closing_needs_the_password_and_a_wrong_one_changes_nothing(ann):
    response = close(ann, "not-my-password")
    assert response.status_code == 403  # a failed re-authentication, not a malformed body
    assert response.json()["code"] == "invalid_credentials"
    assert "password" in response.json()["errors"]
    me = User.objects.get(pk=ann.customer.pk)
    assert me.is_active and me.closed_at is None and Address.objects.filter(user=me).exists()
    assert not Erasure.objects.exists()
    missing = ann.delete("/api/v1/me", {}, format="json")
    assert missing.status_code == 400
    typed = ann.delete("/api/v1/me", {"password": 12345678}, format="json")
    assert typed.status_code == 400
    assert User.objects.get(pk=me.pk).is_active


def test_closing_erases_the_person_everywhere_and_keeps_the_orders_for_accounting(ann, api_client):
    me = ann.customer
    old_email = me.email
    pair = api_client.post("/api/v1/auth/token", {"email": old_email, "password": PASSWORD}, format="json").json()
    cart_id = cart_api.create_cart(customer_id=me.pk).cart.id

    response = close(ann)
    assert response.status_code == 204

    closed = User.objects.get(pk=me.pk)
    assert not closed.is_active and closed.closed_at is not None
    assert (closed.first_name, closed.last_name) == ("", "")
    assert old_email not in closed.email and not closed.has_usable_password()
    assert not Address.objects.filter(user=closed).exists()
    # every context keeping a copy of the person hears of it (notifications erases its messages)
    (told,) = OutboxMessage.objects.using(database_for("identity")).filter(event_type="identity.AccountClosed")
    assert told.payload["customer_id"] == me.pk

    (order,) = Order.objects.filter(customer_id=me.pk)
    assert order.email == "" and order.ship_full_name == "" and order.ship_line1 == "" and order.ship_phone == ""
    assert str(order.total) == "31.90"
    assert order.lines.exists()

    with pytest.raises(cart_api.CartNotFound):
        cart_api.get_cart(cart_id=cart_id, customer_id=me.pk)

    erasure = Erasure.objects.get(customer_id=me.pk)
    assert erasure.identity_done_at and erasure.orders_done_at and erasure.carts_done_at
    assert erasure.completed_at is not None

    # the person cannot come back in with what they held
    login = api_client.post("/api/v1/auth/token", {"email": old_email, "password": PASSWORD}, format="json")
    assert login.status_code == 401
    assert ann.get("/api/v1/me").status_code == 401
    refreshed = api_client.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 401
    # and the email is free to open a new account
    again = api_client.post("/api/v1/auth/register", {"email": old_email, "password": PASSWORD}, format="json")
    assert again.status_code == 201


def test_an_erasure_interrupted_in_another_context_is_listed_and_finished_later(ann):
    me = ann.customer
    with mock.patch.object(
        orders_api, "anonymise_customer_orders", side_effect=ConnectionError("orders database unreachable")
    ):
        assert close(ann).status_code == 204  # the account is closed whatever happens downstream
    erasure = Erasure.objects.get(customer_id=me.pk)
    assert erasure.completed_at is None and erasure.orders_done_at is None
    assert erasure.carts_done_at is not None
    assert Order.objects.get(customer_id=me.pk).email != ""
    assert not User.objects.get(pk=me.pk).is_active

    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("unfinished_erasures", stdout=out)
    assert exited.value.code == 1
    assert f"customer {me.pk}" in out.getvalue() and "missing orders" in out.getvalue()
    assert "orders database unreachable" in out.getvalue()

    assert tasks.resume_erasures() == 1
    erasure.refresh_from_db()
    assert erasure.completed_at is not None and erasure.attempts == 2
    assert Order.objects.get(customer_id=me.pk).email == ""
    out = io.StringIO()
    call_command("unfinished_erasures", stdout=out)
    assert "Every erasure is complete." in out.getvalue()


def test_running_an_erasure_again_changes_nothing_more(ann):
    me = ann.customer
    close(ann)
    before = User.objects.get(pk=me.pk)
    erasure = personal_data.finish_erasure(customer_id=me.pk)
    after = User.objects.get(pk=me.pk)
    assert (before.email, before.closed_at) == (after.email, after.closed_at)
    assert erasure.completed_at is not None


def test_an_erasure_cut_before_identitys_own_step_committed_is_finished_by_the_job(customer):
    Erasure.objects.create(customer_id=customer.pk, requested_at=timezone.now())
    assert tasks.resume_erasures() == 1
    customer.refresh_from_db()
    assert not customer.is_active and customer.first_name == ""


def test_the_command_resumes_on_request(ann):
    me = ann.customer
    with mock.patch.object(cart_api, "discard_customer_carts", side_effect=RuntimeError("cart down")):
        close(ann)
    out = io.StringIO()
    call_command("unfinished_erasures", "--resume", stdout=out)
    assert "Finished 1 erasure(s)." in out.getvalue()
    assert Erasure.objects.get(customer_id=me.pk).completed_at is not None
