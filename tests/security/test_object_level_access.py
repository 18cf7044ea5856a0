"""OWASP API1:2023 Broken Object Level Authorization: for every path of the schema that names a
customer's object by id, another customer's id answers 404 (never 403: whether it exists is not
told) and changes nothing.

Each such path needs an owner's object to try: ``OWNED`` makes one and says how to read it back from
the database. A private ``{id}`` path without an entry here is reported; under CI
(``REQUIRE_OBJECT_LEVEL_TESTS=1``, set by ``.ci/run``) it fails the run.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from tests.identity.factories import CustomerFactory

pytestmark = pytest.mark.django_db
METHODS = ("get", "put", "patch", "delete", "post")


@dataclass(frozen=True)
class Owned:
    """How to test one private ``{id}`` path: ``make(owner)`` creates the owner's object and answers the
    path's ids and a function reading the object back from the database; ``payload`` is a body valid
    for the path (the intruder sends it and an empty one: ownership is judged before the body);
    ``owner_reaches(client, url)`` asserts that the owner does reach the object (so the intruder's 404
    was not a typo in the test)."""

    make: Callable[[Any], tuple[dict, Callable[[], Any]]]
    owner_reaches: Callable[[APIClient, str, dict], None]
    payload: dict = field(default_factory=dict)


def make_address(owner) -> tuple[dict, Callable[[], dict]]:
    from contexts.identity.models import Address

    address = Address.objects.create(user=owner, full_name="Owner", line1="1 Private Road", city="Town", country="DE")
    return {"address_id": address.pk}, lambda: model_to_dict(Address.objects.get(pk=address.pk))


def owner_reads_the_address(client: APIClient, url: str, ids: dict) -> None:
    response = client.get(url)
    assert response.status_code == 200 and response.json()["id"] == ids["address_id"]


def make_customer_cart(owner) -> tuple[dict, Callable[[], Any]]:
    from contexts.cart import api as cart_api
    from contexts.cart.models import Cart, CartLine

    cart = cart_api.create_cart(customer_id=owner.pk).cart

    def read_back() -> Any:
        row = Cart.objects.get(pk=cart.id)
        return model_to_dict(row), row.updated_at, list(CartLine.objects.filter(cart_id=cart.id).values())

    return {"cart_id": cart.id}, read_back


def owner_reaches_the_cart(client: APIClient, url: str, ids: dict) -> None:
    assert client.get(f"/api/v1/carts/{ids['cart_id']}").status_code == 200
    own = client.post(url, {}, format="json")  # assigning one's own cart: refused by the rule, not hidden
    assert own.status_code == 409 and own.json()["code"] == "cart_not_anonymous"


def make_order(owner) -> tuple[dict, Callable[[], Any]]:
    from contexts.orders.models import Order, Return
    from tests.orders.factories import OrderFactory

    order = OrderFactory(customer_id=owner.pk, email=owner.email)

    def read_back() -> Any:
        return model_to_dict(Order.objects.get(pk=order.pk)), list(Return.objects.filter(order_id=order.pk).values())

    return {"order_id": order.pk}, read_back


RETURN_BODY = {"lines": [{"sku": "TEE-BLUE-M", "quantity": 1}], "reason": "too small"}


def owner_reaches_the_returns(client: APIClient, url: str, ids: dict) -> None:
    assert client.get(url).status_code == 200
    # The owner's request reaches the order's rules: a confirmed order has nothing shipped to return.
    answer = client.post(url, RETURN_BODY, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "not_returnable"


OWNED: dict[str, Owned] = {
    "/api/v1/me/addresses/{address_id}": Owned(
        make=make_address,
        owner_reaches=owner_reads_the_address,
        payload={"full_name": "Intruder", "line1": "x", "city": "x", "country": "FR"},
    ),
    "/api/v1/carts/{cart_id}/assign": Owned(make=make_customer_cart, owner_reaches=owner_reaches_the_cart),
    "/api/v1/orders/{order_id}/returns": Owned(
        make=make_order, owner_reaches=owner_reaches_the_returns, payload=RETURN_BODY
    ),
}


def private_id_paths() -> dict[str, list[str]]:
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths: dict[str, list[str]] = {}
    for path, item in schema["paths"].items():
        if "{" not in path:
            continue
        methods = [m for m in METHODS if m in item and {} not in (item[m].get("security") or [{}])]
        if methods:
            paths[path] = methods
    return paths


def test_every_private_id_path_has_an_object_level_test():
    missing = sorted(set(private_id_paths()) - set(OWNED))
    if missing and os.environ.get("REQUIRE_OBJECT_LEVEL_TESTS") != "1":
        pytest.skip(f"no object-level test yet for {missing}: add them to OWNED")
    assert not missing, f"add an object-level test (OWNED) for {missing}"
    assert OWNED, "at least one private id path is checked"


@pytest.mark.parametrize("path", sorted(OWNED))
def test_another_customers_object_answers_404_and_changes_nothing(path):
    owned = OWNED[path]
    owner, intruder = CustomerFactory(), CustomerFactory()
    ids, read_back = owned.make(owner)
    before = read_back()
    methods = private_id_paths()[path]
    client = APIClient()
    client.force_authenticate(intruder)
    url = path.format(**ids)
    for method in methods:
        for body in (owned.payload, {}):  # a valid body and an invalid one: ownership is judged first
            response = getattr(client, method)(url, body, format="json")
            assert response.status_code == 404, f"{method.upper()} {url} {body}: {response.status_code}"
            assert response.json()["code"] == "not_found"
    assert read_back() == before, "nothing of the owner's object changed"

    anonymous = APIClient()
    for method in methods:
        assert getattr(anonymous, method)(url, owned.payload, format="json").status_code == 401

    owner_client = APIClient()
    owner_client.force_authenticate(owner)
    owned.owner_reaches(owner_client, url, ids)


def test_an_unknown_id_and_a_foreign_id_answer_alike():
    owner, intruder = CustomerFactory(), CustomerFactory()
    ids, _ = make_address(owner)
    client = APIClient()
    client.force_authenticate(intruder)
    foreign = client.get(f"/api/v1/me/addresses/{ids['address_id']}")
    unknown = client.get("/api/v1/me/addresses/999999999")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
