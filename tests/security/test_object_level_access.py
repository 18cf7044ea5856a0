"""OWASP API1:2023 Broken Object Level Authorization: for every path of the schema that names a
customer's object by id, another customer's id answers 404 (never 403: whether it exists is not
told) and changes nothing.

Each such path needs an owner's object to try: ``OWNED`` makes one and says how to read it back from
the database. A private ``{id}`` path without an entry here is reported; under CI
(``REQUIRE_OBJECT_LEVEL_TESTS=1``, set by ``.ci/run``) it fails the run.
"""

import os
from collections.abc import Callable

import pytest
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
METHODS = ("get", "put", "patch", "delete", "post")


def make_address(owner) -> tuple[dict, Callable[[], dict]]:
    from contexts.identity.models import Address

    address = Address.objects.create(user=owner, full_name="Owner", line1="1 Private Road", city="Town", country="DE")
    return {"address_id": address.pk}, lambda: model_to_dict(Address.objects.get(pk=address.pk))


OWNED: dict[str, Callable] = {
    "/api/v1/me/addresses/{address_id}": make_address,
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
    owner, intruder = CustomerFactory(), CustomerFactory()
    ids, read_back = OWNED[path](owner)
    before = read_back()
    methods = private_id_paths()[path]
    client = APIClient()
    client.force_authenticate(intruder)
    url = path.format(**ids)
    for method in methods:
        response = getattr(client, method)(url, {"full_name": "Intruder", "line1": "x", "city": "x"}, format="json")
        assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"
        assert response.json()["code"] == "not_found"
    assert read_back() == before, "nothing of the owner's object changed"

    anonymous = APIClient()
    for method in methods:
        assert getattr(anonymous, method)(url, {}, format="json").status_code == 401

    owner_client = APIClient()
    owner_client.force_authenticate(owner)
    assert owner_client.get(url).status_code == 200, "the owner does reach it: the 404 above was not a typo"


def test_an_unknown_id_and_a_foreign_id_answer_alike():
    owner, intruder = CustomerFactory(), CustomerFactory()
    ids, _ = make_address(owner)
    client = APIClient()
    client.force_authenticate(intruder)
    foreign = client.get(f"/api/v1/me/addresses/{ids['address_id']}")
    unknown = client.get("/api/v1/me/addresses/999999999")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
