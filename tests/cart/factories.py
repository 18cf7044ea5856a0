"""The cart tests' helpers: a signed-in client, and a cart opened, filled and read over HTTP or in its rows."""

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from contexts.cart.models import Cart, CartLine
from tests.identity.factories import CustomerFactory

BASE = "/api/v1/carts"


def signed_in(customer=None) -> APIClient:
    customer = customer or CustomerFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(customer).access_token}")
    client.customer = customer
    return client


def new_cart(client: APIClient) -> dict:
    response = client.post(BASE, {}, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def add(client, cart_id, sku, quantity, expect=201):
    response = client.post(f"{BASE}/{cart_id}/lines", {"sku": sku, "quantity": quantity}, format="json")
    assert response.status_code == expect, response.content
    return response.json()


def stored(cart_id):
    """Everything stored about a cart, to prove a refused request changed nothing."""
    row = Cart.objects.get(pk=cart_id)
    return (
        row.version,
        row.customer_id,
        row.status,
        row.voucher_codes,
        row.country,
        row.shipping_method,
        sorted(CartLine.objects.filter(cart_id=cart_id).values_list("sku", "quantity")),
    )
