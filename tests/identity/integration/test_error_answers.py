"""Identity's refusals in the contract's words (docs/API.md, Error codes): a code the guide lists and a
sentence a person can read, never a cut-off docstring or a library's own code (issue 22, bug 9)."""

import pytest

from contexts.identity.models import User
from tests.identity.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_closing_the_account_with_a_wrong_password_says_so_in_a_whole_sentence(customer_client):
    response = customer_client.delete("/api/v1/me", {"password": "not-my-password"}, format="json")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "invalid_credentials"
    assert body["detail"] == "The password is not correct."
    assert body["errors"] == {"password": ["The password is not correct."]}
    assert User.objects.get(pk=customer_client.customer.pk).is_active


def test_a_deactivated_accounts_token_is_refused_with_a_listed_code(customer_client):
    User.objects.filter(pk=customer_client.customer.pk).update(is_active=False)  # staff switched it off
    response = customer_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid", "user_inactive is no code API.md lists"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_closed_accounts_access_token_stops_working_at_once(customer_client):
    assert customer_client.delete("/api/v1/me", {"password": PASSWORD}, format="json").status_code == 204
    response = customer_client.get("/api/v1/me/addresses")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
