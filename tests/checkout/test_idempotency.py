"""Idempotency-Key on POST /checkout, through the REST API (API.md, the IETF draft, Stripe)."""

import pytest

from contexts.orders.models import GatewayCharge, IdempotencyRecord, Order
from tests.checkout.conftest import checkout_body, new_cart, post_checkout

pytestmark = pytest.mark.django_db


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
    from contexts.orders import services

    services.claim_idempotency_key(
        scope=f"guest:{body['cart_id']}",
        key="k",
        fingerprint=services.request_fingerprint(method="POST", path="checkout", body=body),
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

    from tests.factories import CustomerFactory

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
    assert not IdempotencyRecord.objects.exists()
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
    assert not IdempotencyRecord.objects.filter(key="b").exists()
    settings.ORDERS_CHECKOUT_THROTTLE = None
    assert post_checkout(api_client, checkout_body(second_cart), key="b").status_code == 201
