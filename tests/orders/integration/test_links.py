"""The OpenAPI links the schema declares (commerce.openapi.Link) lead where they say: followed by a
client as bin/fuzz's stateful phase follows them, from a new cart to its line, to checkout and to the
order, and from a new address to its own operations. Each hop takes its ids from the link's runtime
expressions applied to the previous real answer, never from the test's own knowledge."""

import uuid

import pytest

from contexts.identity.models import Address
from tests.support.checkout import ADDRESS

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operation(schema, operation_id):
    for path, item in schema["paths"].items():
        for method, candidate in item.items():
            if isinstance(candidate, dict) and candidate.get("operationId") == operation_id:
                return path, method, candidate
    raise AssertionError(f"no operation {operation_id}")


def evaluate(expression, body):
    """``$response.body#/a/0/b`` against a JSON body (the runtime expressions the links use)."""
    prefix = "$response.body#"
    assert expression.startswith(prefix), expression
    value = body
    for token in filter(None, expression[len(prefix) :].split("/")):
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def follow(client, schema, source, status, name, response, *, body=None, **headers):
    """Call the target of link ``name`` on ``source``'s ``status`` answer, with what the link takes
    from ``response``; ``body`` adds the fields the link does not give."""
    _, _, source_operation = operation(schema, source)
    link = source_operation["responses"][status]["links"][name]
    path, method, _ = operation(schema, link["operationId"])
    for parameter, expression in link.get("parameters", {}).items():
        path = path.replace("{" + parameter + "}", str(evaluate(expression, response.json())))
    payload = dict(body or {})
    for field, expression in link.get("requestBody", {}).items():
        payload[field] = evaluate(expression, response.json())
    return getattr(client, method)(path, payload or None, format="json", **headers)


def test_links_lead_from_a_new_cart_to_its_line_to_checkout_and_to_the_order(api_client, schema, shop):
    cart = api_client.post("/api/v1/carts", {}, format="json")
    assert cart.status_code == 201

    added = follow(api_client, schema, "carts_create", "201", "AddLine", cart, body={"sku": "TEE-M", "quantity": 1})
    assert added.status_code == 201, added.json()
    changed = follow(api_client, schema, "carts_lines_create", "201", "ChangeLine", added, body={"quantity": 3})
    assert changed.status_code == 200, changed.json()
    assert [(line["sku"], line["quantity"]) for line in changed.json()["lines"]] == [("TEE-M", 3)]

    order = follow(
        api_client,
        schema,
        "carts_lines_create",
        "201",
        "CheckOut",
        added,
        body={
            "email": "guest@example.com",
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "payment": {"token": "tok_ok"},
        },
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert order.status_code == 201, order.json()
    assert [(line["sku"], line["quantity"]) for line in order.json()["lines"]] == [("TEE-M", 3)]

    fetched = follow(api_client, schema, "checkout_create", "201", "GetOrder", order)
    assert fetched.status_code == 200 and fetched.json()["id"] == order.json()["id"]
    cancelled = follow(api_client, schema, "checkout_create", "201", "CancelOrder", order)
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["status"] == "cancelled"
    assert api_client.get(f"/api/v1/carts/{cart.json()['id']}").json()["status"] == "checked_out"


def test_links_lead_from_a_new_address_to_reading_changing_and_removing_it(customer_client, schema):
    created = customer_client.post("/api/v1/me/addresses", ADDRESS, format="json")
    assert created.status_code == 201

    read = follow(customer_client, schema, "me_addresses_create", "201", "GetAddress", created)
    assert read.status_code == 200 and read.json()["city"] == "Berlin"
    changed = follow(
        customer_client, schema, "me_addresses_create", "201", "ChangeAddress", created, body={"city": "Bonn"}
    )
    assert changed.status_code == 200
    assert Address.objects.get(id=created.json()["id"]).city == "Bonn"
    removed = follow(customer_client, schema, "me_addresses_create", "201", "RemoveAddress", created)
    assert removed.status_code == 204
    assert not Address.objects.filter(id=created.json()["id"]).exists()


def test_a_link_to_an_operation_the_schema_does_not_have_fails_the_schema_not_the_client():
    from commerce.openapi import Link

    schema = {"paths": {"/a": {"post": {"operationId": "a_create", "responses": {"201": {}}}}}}
    with pytest.raises(ValueError, match="no operation a_retrieve"):
        document_links_with(schema, Link(source="a_create", status="201", name="GetA", target="a_retrieve"))


def document_links_with(schema, link):
    from commerce import openapi
    from commerce.openapi.schema import document_links

    saved = dict(openapi._LINKS)
    try:
        openapi._LINKS.clear()
        openapi.declare_links(link)
        return document_links(schema, None, None, True)
    finally:
        openapi._LINKS.clear()
        openapi._LINKS.update(saved)
