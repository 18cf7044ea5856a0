"""Idempotency-Key on POST /checkout, through the REST API (API.md, the IETF draft, Stripe)."""

from datetime import timedelta

import jsonschema_rs
import pytest
from django.utils import timezone

from commerce.database import database_for
from commerce.idempotency.keys import request_fingerprint
from commerce.idempotency.models import IdempotencyRecord
from commerce.periodic import jobs
from contexts.cart import api as cart_api
from contexts.orders import services
from contexts.orders.models import GatewayCharge, Order
from tests.support.checkout import available, checkout_body, new_cart, post_checkout

pytestmark = pytest.mark.django_db


def orders_records():
    """The orders context's stored answers, in its database (the kernel's table is in every one)."""
    return IdempotencyRecord.objects.using(database_for("orders"))


def test_the_same_key_and_body_replay_the_first_answer(api_client, shop):
    body = checkout_body(new_cart({"MUG": 1}))
    first = post_checkout(api_client, body, key="order-attempt-1")
    again = post_checkout(api_client, body, key="order-attempt-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Order.objects.count() == 1 and GatewayCharge.objects.count() == 1


def test_a_failure_is_replayed_too_without_running_again(api_client, shop):
    body = checkout_body(new_cart({"MUG": 1}), token="tok_declined")
    first = post_checkout(api_client, body, key="k")
    again = post_checkout(api_client, body, key="k")
    assert first.status_code == again.status_code == 402
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(api_client, shop):
    cart_id = new_cart({"MUG": 1})
    post_checkout(api_client, checkout_body(cart_id), key="k")
    response = post_checkout(api_client, checkout_body(cart_id, method="express"), key="k")
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_the_same_key_while_the_first_runs_is_a_409_with_retry_after(api_client, shop):
    body = checkout_body(new_cart({"MUG": 1}))
    services.idempotency_keys.claim(
        scope=f"guest:{body['cart_id']}",
        key="k",
        fingerprint=request_fingerprint(method="POST", operation="checkout", body=body),
    )
    response = post_checkout(api_client, body, key="k")
    assert response.status_code == 409 and response.json()["code"] == "request_in_progress"
    assert int(response.headers["Retry-After"]) >= 1
    assert not Order.objects.exists()


def test_a_missing_key_is_a_400_and_a_key_over_255_characters_too(api_client, shop):
    body = checkout_body(new_cart({"MUG": 1}))
    missing = post_checkout(api_client, body, key="")
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_required"
    too_long = post_checkout(api_client, body, key="k" * 256)
    assert too_long.status_code == 400 and too_long.json()["code"] == "invalid"
    assert post_checkout(api_client, body, key="k" * 255).status_code == 201


def test_keys_are_scoped_to_the_caller(shop):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from tests.identity.factories import CustomerFactory

    clients = []
    for customer in (CustomerFactory(), CustomerFactory()):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(customer).access_token}")
        clients.append((client, customer))
    responses = [
        post_checkout(client, checkout_body(new_cart({"MUG": 1}, customer_id=customer.pk), email=None), key="same")
        for client, customer in clients
    ]
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json()["id"] != responses[1].json()["id"]


def test_a_401_is_not_stored(api_client, shop):
    body = checkout_body(new_cart({"MUG": 1}))
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert post_checkout(api_client, body, key="k").status_code == 401
    assert not orders_records().exists()
    api_client.credentials()
    assert post_checkout(api_client, body, key="k").status_code == 201


def test_a_429_is_not_stored(api_client, shop, settings):
    settings.ORDERS_CHECKOUT_THROTTLE = "1/min"
    first_cart, second_cart = new_cart({"MUG": 1}), new_cart({"MUG": 1})
    assert post_checkout(api_client, checkout_body(first_cart), key="a").status_code == 201
    throttled = post_checkout(api_client, checkout_body(second_cart), key="b")
    assert (
        throttled.status_code == 429 and throttled.json()["code"] == "throttled" and "Retry-After" in throttled.headers
    )
    assert not orders_records().filter(key="b").exists()
    settings.ORDERS_CHECKOUT_THROTTLE = None
    assert post_checkout(api_client, checkout_body(second_cart), key="b").status_code == 201


def _time_passes_and_the_hourly_prune_runs(*, hours: float) -> None:
    """Age every stored key by ``hours``, then run the pruning job as beat does."""
    orders_records().update(created_at=timezone.now() - timedelta(hours=hours))
    (job,) = [job for job in jobs() if job.name == "orders.prune_idempotency_records"]
    job.task()


def test_a_key_used_again_after_it_was_forgotten_starts_a_new_checkout(customer_client, shop):
    """Bug 4 of issue 22: the order was found by a digest of the caller and the key alone, so a key
    pruned and used again answered the old order as a new 201 and never bought the new cart."""
    customer = customer_client.customer
    first_cart = new_cart({"MUG": 1}, customer_id=customer.pk)
    first = post_checkout(customer_client, checkout_body(first_cart, email=None), key="weekly-order")
    assert first.status_code == 201
    _time_passes_and_the_hourly_prune_runs(hours=49)

    second_cart = new_cart({"TEE-M": 2}, customer_id=customer.pk)
    second = post_checkout(customer_client, checkout_body(second_cart, email=None), key="weekly-order")

    assert second.status_code == 201, second.json()
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert [(line["sku"], line["quantity"]) for line in second.json()["lines"]] == [("TEE-M", 2)]
    assert cart_api.get_cart(cart_id=second_cart, customer_id=customer.pk).status == "checked_out"
    assert available("TEE-M") == 8
    assert Order.objects.count() == 2 and GatewayCharge.objects.count() == 2


def test_a_key_within_its_retention_still_replays_after_the_prune(customer_client, shop):
    customer = customer_client.customer
    body = checkout_body(new_cart({"MUG": 1}, customer_id=customer.pk), email=None)
    first = post_checkout(customer_client, body, key="weekly-order")
    _time_passes_and_the_hourly_prune_runs(hours=23)

    again = post_checkout(customer_client, body, key="weekly-order")
    other_cart = checkout_body(new_cart({"TEE-M": 1}, customer_id=customer.pk), email=None)
    reused = post_checkout(customer_client, other_cart, key="weekly-order")

    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1 and available("TEE-M") == 10


@pytest.mark.parametrize(
    "key",
    ["clé", "ключ", "k\u00a0k", "tab\there", "del\x7f", " padded", "padded ", "k" * 256, "a", "a b", "~!{}", "k" * 255],
    ids=ascii,
)
def test_a_key_is_taken_exactly_when_the_schema_admits_it(api_client, shop, key):
    """From bug 9 of issue 22: the schema admits printable ASCII only, the API took any printable
    character (``clé``)."""
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = schema["paths"]["/api/v1/checkout"]["post"]["parameters"]
    (declared,) = [p["schema"] for p in parameters if p["name"] == "Idempotency-Key"]
    admitted = jsonschema_rs.validator_for(declared).is_valid(key)
    assert admitted is (len(key) <= 255 and all(" " <= c <= "~" for c in key) and key.strip(" ") == key)

    response = post_checkout(api_client, checkout_body(new_cart({"MUG": 1})), key=key)

    if admitted:
        assert response.status_code == 201, response.json()
    else:
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert list(response.json()["errors"]) == ["Idempotency-Key"]
        assert not Order.objects.exists() and not orders_records().exists()


def test_a_browser_storefront_on_another_origin_can_read_that_an_answer_is_a_replay(api_client, shop, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
    body = checkout_body(new_cart({"MUG": 1}))
    post_checkout(api_client, body, key="k")

    again = api_client.post(
        "/api/v1/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="k", HTTP_ORIGIN="https://shop.example.com"
    )

    assert again.headers["Idempotent-Replayed"] == "true"
    exposed = {header.strip().lower() for header in again.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"idempotent-replayed", "retry-after"} <= exposed
