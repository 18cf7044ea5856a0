"""OWASP API2:2023 Broken Authentication: tokens that must not open the door, and passwords at rest."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.identity.factories import PASSWORD, CustomerFactory

pytestmark = pytest.mark.django_db


def b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def me(token: str):
    return APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_refused(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"code", "detail"}, "the contract's shape, no token internals"
    assert body["code"] in {"token_not_valid", "not_authenticated", "authentication_failed"}
    assert "email" not in json.dumps(body)


def test_a_valid_access_token_is_accepted():
    customer = CustomerFactory()
    response = me(str(AccessToken.for_user(customer)))
    assert response.status_code == 200 and response.json()["email"] == customer.email


def test_an_expired_access_token_is_refused():
    token = AccessToken.for_user(CustomerFactory())
    token.set_exp(lifetime=-timedelta(seconds=1))
    assert_refused(me(str(token)))


def test_a_token_signed_with_another_key_is_refused():
    claims = dict(AccessToken.for_user(CustomerFactory()).payload)
    assert_refused(me(jwt.encode(claims, "not-the-shops-key-" * 4, algorithm="HS256")))


def test_a_token_with_alg_none_is_refused():
    claims = dict(AccessToken.for_user(CustomerFactory()).payload)
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert_refused(me(unsigned))


def test_a_token_whose_claims_were_edited_is_refused():
    victim, attacker = CustomerFactory(), CustomerFactory()
    header, _, signature = str(AccessToken.for_user(attacker)).split(".")
    claims = dict(AccessToken.for_user(attacker).payload, user_id=victim.pk)
    assert_refused(me(f"{header}.{b64(claims)}.{signature}"))


def test_a_refresh_token_used_as_an_access_token_is_refused():
    assert_refused(me(str(RefreshToken.for_user(CustomerFactory()))))


def test_a_token_of_a_deactivated_account_is_refused():
    customer = CustomerFactory()
    token = str(AccessToken.for_user(customer))
    get_user_model().objects.filter(pk=customer.pk).update(is_active=False)
    assert me(token).status_code == 401


@pytest.fixture
def production_hashers(settings):
    from commerce import settings as shop_settings

    settings.PASSWORD_HASHERS = shop_settings.PASSWORD_HASHERS


def test_passwords_are_stored_with_argon2(production_hashers):
    response = APIClient().post(
        "/api/v1/auth/register", {"email": "argon@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    stored = get_user_model().objects.get(email="argon@example.com").password
    assert stored.startswith("argon2$")
    assert PASSWORD not in stored


def test_an_older_hash_is_upgraded_to_argon2_on_login(production_hashers):
    customer = CustomerFactory()
    older = make_password(PASSWORD, hasher="pbkdf2_sha256")
    get_user_model().objects.filter(pk=customer.pk).update(password=older)

    response = APIClient().post("/api/v1/auth/token", {"email": customer.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.password.startswith("argon2$")
    assert customer.check_password(PASSWORD)


def test_a_wrong_password_changes_nothing_and_tells_nothing(production_hashers):
    customer = CustomerFactory()
    older = make_password(PASSWORD, hasher="pbkdf2_sha256")
    get_user_model().objects.filter(pk=customer.pk).update(password=older)
    wrong = APIClient().post("/api/v1/auth/token", {"email": customer.email, "password": "nope"}, format="json")
    unknown = APIClient().post("/api/v1/auth/token", {"email": "nobody@example.com", "password": "nope"}, format="json")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json(), "a wrong password and an unknown account answer alike"
    customer.refresh_from_db()
    assert customer.password == older
