"""Ending sessions (issue 22, bug 7): a password reset, "log out everywhere" and closing the account end
every token issued before them, access tokens included; ``POST /auth/logout`` revokes one refresh token.
And the public keys at ``/.well-known/jwks.json``, with which any service verifies an access token alone."""

import jwt
import pytest

from contexts.identity.models import Address
from tests.identity.factories import PASSWORD, CustomerFactory
from tests.identity.integration.test_accounts_api import NEW_PASSWORD, reset_link
from tests.notifications.mailbox import after_commit

pytestmark = pytest.mark.django_db

ADDRESS = {"full_name": "Ann Lee", "line1": "Hauptstr. 1", "city": "Berlin", "country": "DE"}


def log_in(client, email: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/v1/auth/token", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def as_bearer(client, access: str):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def refresh(client, token: str):
    return client.post("/api/v1/auth/token/refresh", {"refresh": token}, format="json")


def log_out(client, access: str, token: str, **body):
    return as_bearer(client, access).post("/api/v1/auth/logout", {"refresh": token, **body}, format="json")


def reset_password(client, email: str, mailbox, capture) -> None:
    client.credentials()
    with after_commit(capture):  # identity publishes the request, notifications sends the mail
        client.post("/api/v1/auth/password-reset", {"email": email}, format="json")
    uid, token = reset_link(mailbox.messages[-1])
    body = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    assert client.post("/api/v1/auth/password-reset/confirm", body, format="json").status_code == 204


# --- a password reset ------------------------------------------------------------------------------


def test_a_password_reset_ends_the_access_tokens_issued_before_it(
    api_client, customer, mailbox, django_capture_on_commit_callbacks
):
    """An attacker holding the old access token could read the profile and write for up to 15 minutes."""
    stolen = log_in(api_client, customer.email)
    assert as_bearer(api_client, stolen["access"]).get("/api/v1/me").status_code == 200

    reset_password(api_client, customer.email, mailbox, django_capture_on_commit_callbacks)

    me = as_bearer(api_client, stolen["access"]).get("/api/v1/me")
    assert me.status_code == 401
    assert me.json()["code"] == "token_not_valid"
    write = as_bearer(api_client, stolen["access"]).post("/api/v1/me/addresses", ADDRESS, format="json")
    assert write.status_code == 401 and not Address.objects.exists()
    assert refresh(api_client, stolen["refresh"]).json()["code"] == "token_not_valid"

    fresh = log_in(api_client, customer.email, NEW_PASSWORD)  # at once, within the same second
    assert as_bearer(api_client, fresh["access"]).get("/api/v1/me").json()["email"] == customer.email
    assert refresh(api_client, fresh["refresh"]).status_code == 200


# --- logout ----------------------------------------------------------------------------------------


def test_logout_revokes_that_refresh_token_and_no_other(api_client, customer):
    phone, laptop = log_in(api_client, customer.email), log_in(api_client, customer.email)

    response = log_out(api_client, phone["access"], phone["refresh"])

    assert response.status_code == 204 and response.content == b""
    revoked = refresh(api_client, phone["refresh"])
    assert revoked.status_code == 401 and revoked.json()["code"] == "token_not_valid"
    assert refresh(api_client, laptop["refresh"]).status_code == 200, "the laptop stays logged in"
    assert as_bearer(api_client, laptop["access"]).get("/api/v1/me").status_code == 200


def test_logging_out_twice_is_still_logged_out(api_client, customer):
    pair = log_in(api_client, customer.email)
    assert log_out(api_client, pair["access"], pair["refresh"]).status_code == 204
    assert log_out(api_client, pair["access"], pair["refresh"]).status_code == 204


def test_logout_everywhere_ends_every_token_issued_before_it(api_client, customer):
    phone, laptop = log_in(api_client, customer.email), log_in(api_client, customer.email)

    assert log_out(api_client, phone["access"], phone["refresh"], everywhere=True).status_code == 204

    for device in (phone, laptop):
        me = as_bearer(api_client, device["access"]).get("/api/v1/me")
        assert me.status_code == 401 and me.json()["code"] == "token_not_valid"
        assert refresh(api_client, device["refresh"]).status_code == 401
    again = log_in(api_client, customer.email)  # logging in afterwards works, in the same second too
    assert as_bearer(api_client, again["access"]).get("/api/v1/me").status_code == 200
    assert refresh(api_client, again["refresh"]).status_code == 200


def test_logout_everywhere_leaves_other_customers_logged_in(api_client, customer):
    other = CustomerFactory()
    theirs = log_in(api_client, other.email)
    mine = log_in(api_client, customer.email)
    assert log_out(api_client, mine["access"], mine["refresh"], everywhere=True).status_code == 204
    assert as_bearer(api_client, theirs["access"]).get("/api/v1/me").json()["email"] == other.email
    assert refresh(api_client, theirs["refresh"]).status_code == 200


def test_logout_needs_the_caller_signed_in(api_client, customer):
    pair = log_in(api_client, customer.email)
    response = api_client.post("/api/v1/auth/logout", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert refresh(api_client, pair["refresh"]).status_code == 200


def test_another_customers_refresh_token_is_not_revoked(api_client, customer):
    other = CustomerFactory()
    theirs, mine = log_in(api_client, other.email), log_in(api_client, customer.email)
    response = log_out(api_client, mine["access"], theirs["refresh"])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
    assert "refresh" in response.json()["errors"]
    assert refresh(api_client, theirs["refresh"]).status_code == 200


@pytest.mark.parametrize("which", ["access", "garbage"])
def test_logout_with_something_else_than_a_refresh_token_is_refused_and_revokes_nothing(api_client, customer, which):
    """A storefront sending the access token by mistake must hear so: a silent 204 would leave it logged in."""
    pair = log_in(api_client, customer.email)
    sent = pair["access"] if which == "access" else "not-a-token"
    response = log_out(api_client, pair["access"], sent)
    assert response.status_code == 400 and response.json()["code"] == "invalid_token"
    assert refresh(api_client, pair["refresh"]).status_code == 200


def test_logout_refuses_unknown_fields_and_a_non_boolean_everywhere(api_client, customer):
    pair = log_in(api_client, customer.email)
    assert log_out(api_client, pair["access"], pair["refresh"], everywhere="yes please").status_code == 400
    assert log_out(api_client, pair["access"], pair["refresh"], user_id=1).status_code == 400
    assert refresh(api_client, pair["refresh"]).status_code == 200


# --- closing the account ---------------------------------------------------------------------------


def test_closing_the_account_ends_every_token(api_client, customer):
    phone, laptop = log_in(api_client, customer.email), log_in(api_client, customer.email)
    closed = as_bearer(api_client, phone["access"]).delete("/api/v1/me", {"password": PASSWORD}, format="json")
    assert closed.status_code == 204
    for device in (phone, laptop):
        me = as_bearer(api_client, device["access"]).get("/api/v1/me")
        assert me.status_code == 401 and me.json()["code"] == "token_not_valid"
        assert refresh(api_client, device["refresh"]).json()["code"] == "token_not_valid"


# --- the public keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/.well-known/jwks.json", "/.well-known/jwks.json"])
def test_an_access_token_verifies_with_the_published_keys_alone(api_client, customer, path):
    """What another service does: fetch the JWKS once, pick the key the token names, verify locally."""
    pair = log_in(api_client, customer.email)
    api_client.credentials()
    response = api_client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    document = response.json()
    assert all("d" not in key and "p" not in key for key in document["keys"]), "public parts only"

    header = jwt.get_unverified_header(pair["access"])
    assert header["alg"] == "RS256" and header["kid"]
    key = jwt.PyJWKSet.from_dict(document)[header["kid"]]
    claims = jwt.decode(pair["access"], key=key, algorithms=[key.algorithm_name])
    assert claims["user_id"] == str(customer.pk) and claims["token_type"] == "access"


def test_a_token_signed_with_another_key_under_the_published_key_id_is_refused(api_client, customer):
    from cryptography.hazmat.primitives.asymmetric import rsa

    genuine = log_in(api_client, customer.email)["access"]
    header = jwt.get_unverified_header(genuine)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, impostor, algorithm="RS256", headers={"kid": header["kid"]})
    response = as_bearer(api_client, forged).get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == "token_not_valid"
    hs256 = jwt.encode(
        claims, "a-shared-secret-as-long-as-hs256-wants-it", algorithm="HS256", headers={"kid": header["kid"]}
    )
    assert as_bearer(api_client, hs256).get("/api/v1/me").status_code == 401


def test_checking_a_token_against_its_account_costs_one_read(api_client, customer, django_assert_num_queries):
    """The generation is read with the user, by primary key, as simplejwt read the user before."""
    pair = log_in(api_client, customer.email)
    as_bearer(api_client, pair["access"])
    with django_assert_num_queries(1):
        assert api_client.get("/api/v1/me").status_code == 200


def test_another_service_verifies_a_token_with_a_jwks_client_and_no_identity_call(api_client, customer):
    """As a lifted-out service would: PyJWT's ``PyJWKClient`` fetches the key set from a running shop
    (gunicorn, the same key as this process), picks the token's key and verifies it locally."""
    from tests.support.processes import running_gunicorn

    access = log_in(api_client, customer.email)["access"]
    with running_gunicorn(workers=1) as (_, base):
        keys = jwt.PyJWKClient(f"{base}/.well-known/jwks.json")
        signing_key = keys.get_signing_key_from_jwt(access)
    claims = jwt.decode(access, signing_key.key, algorithms=["RS256"])
    assert claims["user_id"] == str(customer.pk)
    forged = access[: access.rindex(".") + 1] + "A" * 342
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, signing_key.key, algorithms=["RS256"])


def test_customer_service_logs_a_customer_out_everywhere_from_the_admin(api_client, customer, client):
    """Someone else got into the account: staff end its tokens before the owner even resets the password."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from contexts.identity.models import User

    pair = log_in(api_client, customer.email)
    call_command("setup_roles", stdout=open("/dev/null", "w"))  # noqa: SIM115
    agent = User.objects.create_user("agent@example.com", "x-very-secret-1", is_staff=True)
    agent.groups.add(Group.objects.get(name="customer_service"))
    client.force_login(agent)
    response = client.post(
        "/admin/identity/user/", {"action": "log_out_everywhere", "_selected_action": [customer.pk]}, follow=True
    )
    assert "Logged out everywhere: 1." in response.content.decode()
    assert as_bearer(api_client, pair["access"]).get("/api/v1/me").json()["code"] == "token_not_valid"
    assert refresh(api_client, pair["refresh"]).status_code == 401
    assert log_in(api_client, customer.email)["access"], "the owner logs in again with the password"
