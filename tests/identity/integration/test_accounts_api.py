"""Accounts beyond login: strict input types, password reset, address book, throttling, enumeration."""

import re

import pytest
from django.utils import timezone

from contexts.identity.models import Address, User
from tests.identity.factories import PASSWORD, CustomerFactory
from tests.notifications.mailbox import after_commit, html_of, text_of

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"


# --- strict types (issue 9 point 15) ------------------------------------------------------------


@pytest.mark.parametrize("value", [123, 12.5, True, ["Ann"], {"x": "y"}])
def test_a_number_or_list_where_a_name_belongs_is_refused_and_nothing_changes(customer_client, value):
    before = customer_client.customer.first_name
    response = customer_client.patch("/api/v1/me", {"first_name": value}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["errors"] == {"first_name": ["Must be a string."]}
    customer_client.customer.refresh_from_db()
    assert customer_client.customer.first_name == before


def test_a_number_as_a_name_at_registration_is_refused(api_client):
    response = api_client.post(
        "/api/v1/auth/register", {"email": "n@example.com", "password": PASSWORD, "last_name": 123}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"last_name": ["Must be a string."]}
    assert not User.objects.exists()


def test_a_ten_thousand_character_name_is_refused(customer_client):
    response = customer_client.patch("/api/v1/me", {"last_name": "x" * 10_000}, format="json")
    assert response.status_code == 400
    assert "last_name" in response.json()["errors"]
    customer_client.customer.refresh_from_db()
    assert len(customer_client.customer.last_name) < 200


def test_null_name_is_refused(customer_client):
    response = customer_client.patch("/api/v1/me", {"first_name": None}, format="json")
    assert response.status_code == 400


def test_a_number_as_password_or_email_at_login_is_a_400_not_a_500(api_client):
    response = api_client.post("/api/v1/auth/token", {"email": 1, "password": 2}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "password"}


# --- passwords ----------------------------------------------------------------------------------


def test_a_password_equal_to_the_email_is_refused(api_client):
    response = api_client.post(
        "/api/v1/auth/register", {"email": "lucy.long@example.com", "password": "lucy.long@example.com"}, format="json"
    )
    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    assert not User.objects.exists()


# --- password reset -----------------------------------------------------------------------------


def reset_link(message) -> tuple[str, str]:
    """The ``uid`` and ``token`` of a reset mail (a message or its text): from the storefront link, or from
    the API call the mail spells out when no storefront is configured."""
    body = message if isinstance(message, str) else text_of(message)
    match = re.search(r"uid=([\w-]+)&token=([\w-]+)", body) or re.search(
        r'"uid": "([\w-]+)", "token": "([\w-]+)"', body
    )
    assert match, body
    return match.group(1), match.group(2)


@pytest.fixture
def ask_reset(api_client, mailbox, django_capture_on_commit_callbacks):
    """POST /auth/password-reset as a customer does, and let what it set off run (identity publishes
    ``PasswordResetRequested``, notifications sends): the mail is then in ``mailbox``."""

    def ask(email: str):
        with after_commit(django_capture_on_commit_callbacks):
            return api_client.post("/api/v1/auth/password-reset", {"email": email}, format="json")

    return ask


def test_password_reset_mails_a_single_use_link_that_sets_a_new_password(api_client, customer, ask_reset, mailbox):
    response = ask_reset(customer.email.upper())
    assert response.status_code == 202
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == customer.email
    assert "reset-password" in html_of(message) or "password-reset/confirm" in html_of(message)
    uid, token = reset_link(message)

    body = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    assert api_client.post("/api/v1/auth/password-reset/confirm", body, format="json").status_code == 204
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    login = api_client.post("/api/v1/auth/token", {"email": customer.email, "password": NEW_PASSWORD}, format="json")
    assert login.status_code == 200

    reused = api_client.post(
        "/api/v1/auth/password-reset/confirm", {**body, "new_password": "yet-another-passphrase-7"}, format="json"
    )
    assert reused.status_code == 400
    assert reused.json()["code"] == "invalid_token"
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)


def test_password_reset_answers_the_same_for_an_unknown_email_and_sends_nothing(
    api_client, customer, ask_reset, mailbox
):
    known = ask_reset(customer.email)
    unknown = ask_reset("nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert mailbox.to() == [[customer.email]]


def test_forged_reset_token_is_refused_and_the_password_stays(api_client, customer, ask_reset, mailbox):
    ask_reset(customer.email)
    uid, token = reset_link(mailbox.messages[0])
    for forged in (
        {"uid": uid, "token": token[:-2] + "zz"},
        {"uid": "MTIzNDU2", "token": token},
        {"uid": "!!", "token": "x"},
    ):
        response = api_client.post(
            "/api/v1/auth/password-reset/confirm", {**forged, "new_password": NEW_PASSWORD}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_token"
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_expired_reset_token_is_refused(api_client, customer, settings, ask_reset, mailbox):
    ask_reset(customer.email)
    uid, token = reset_link(mailbox.messages[0])
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = api_client.post(
        "/api/v1/auth/password-reset/confirm", {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_weak_new_password_is_refused_and_the_link_still_works(api_client, customer, ask_reset, mailbox):
    ask_reset(customer.email)
    uid, token = reset_link(mailbox.messages[0])
    like_the_email = api_client.post(
        "/api/v1/auth/password-reset/confirm",
        {"uid": uid, "token": token, "new_password": customer.email},
        format="json",
    )
    assert like_the_email.status_code == 400
    assert like_the_email.json()["errors"]["new_password"]
    weak = api_client.post(
        "/api/v1/auth/password-reset/confirm", {"uid": uid, "token": token, "new_password": "123"}, format="json"
    )
    assert weak.status_code == 400
    assert "new_password" in weak.json()["errors"]
    ok = api_client.post(
        "/api/v1/auth/password-reset/confirm", {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    assert ok.status_code == 204


def test_a_reset_logs_out_refresh_tokens_issued_before_it(api_client, customer, ask_reset, mailbox):
    pair = api_client.post("/api/v1/auth/token", {"email": customer.email, "password": PASSWORD}, format="json").json()
    ask_reset(customer.email)
    uid, token = reset_link(mailbox.messages[0])
    api_client.post(
        "/api/v1/auth/password-reset/confirm", {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    refreshed = api_client.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert refreshed.json()["code"] == "token_not_valid"


# --- throttling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "scope", "body"),
    [
        ("/api/v1/auth/register", "auth_register", {"email": "x@example.com", "password": "123"}),
        ("/api/v1/auth/password-reset", "password_reset", {"email": "x@example.com"}),
        ("/api/v1/auth/token", "auth_token", {"email": "x@example.com", "password": "nope"}),
    ],
)
def test_auth_endpoints_are_throttled_per_client_address(api_client, monkeypatch, path, scope, body):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, scope: "3/min"})
    codes = [api_client.post(path, body, format="json", REMOTE_ADDR="10.0.0.1").status_code for _ in range(3)]
    assert 429 not in codes
    refused = api_client.post(path, body, format="json", REMOTE_ADDR="10.0.0.1")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    other_client = api_client.post(path, body, format="json", REMOTE_ADDR="10.0.0.2")
    assert other_client.status_code != 429


def test_an_invented_forwarded_for_header_does_not_dodge_the_throttle(api_client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "auth_token": "2/min"}
    )
    body = {"email": "x@example.com", "password": "nope"}
    codes = [
        api_client.post(
            "/api/v1/auth/token", body, format="json", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        ).status_code
        for n in range(4)
    ]
    assert codes[-1] == 429


def test_throttle_limits_are_settings():
    from django.conf import settings

    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert {"auth_token", "auth_register", "password_reset"} <= set(rates)


# --- addresses ----------------------------------------------------------------------------------

ADDRESS = {
    "full_name": "Ann Lee",
    "line1": "Hauptstr. 1",
    "line2": "",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
    "phone": "+49 30 1234567",
}


def test_customer_keeps_an_address_book(customer_client):
    created = customer_client.post("/api/v1/me/addresses", ADDRESS, format="json")
    assert created.status_code == 201
    address = created.json()
    assert address == {**ADDRESS, "id": address["id"]}

    listed = customer_client.get("/api/v1/me/addresses").json()
    assert listed["count"] == 1 and listed["results"] == [address]

    changed = customer_client.patch(f"/api/v1/me/addresses/{address['id']}", {"city": "Potsdam"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["city"] == "Potsdam" and changed.json()["line1"] == "Hauptstr. 1"
    assert customer_client.get(f"/api/v1/me/addresses/{address['id']}/").json()["city"] == "Potsdam"

    assert customer_client.delete(f"/api/v1/me/addresses/{address['id']}").status_code == 204
    assert customer_client.get("/api/v1/me/addresses").json()["count"] == 0


@pytest.mark.parametrize("country", ["XX", "Germany", "DEU", 49, "", "de", "\u00e2\u001e"])
def test_an_address_with_an_unknown_country_is_refused(customer_client, country):
    response = customer_client.post("/api/v1/me/addresses", {**ADDRESS, "country": country}, format="json")
    assert response.status_code == 400
    assert "country" in response.json()["errors"]
    assert not Address.objects.exists()


def test_changing_the_country_to_an_unknown_one_changes_nothing(customer_client):
    address = customer_client.post("/api/v1/me/addresses", ADDRESS, format="json").json()
    response = customer_client.patch(
        f"/api/v1/me/addresses/{address['id']}", {"country": "ZZ", "city": "X"}, format="json"
    )
    assert response.status_code == 400
    assert Address.objects.get().city == "Berlin"


def test_address_needs_its_required_fields_and_refuses_unknown_ones(customer_client):
    missing = customer_client.post("/api/v1/me/addresses", {"full_name": "Ann"}, format="json")
    assert missing.status_code == 400
    assert {"line1", "city", "country"} <= set(missing.json()["errors"])
    unknown = customer_client.post("/api/v1/me/addresses", {**ADDRESS, "user": 1}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"user": ["Unknown field."]}
    assert not Address.objects.exists()


def test_another_customers_address_is_not_found_and_untouched(customer_client):
    other = CustomerFactory()
    theirs = Address.objects.create(user=other, full_name="Bo", line1="1 Rd", city="Paris", country="FR")
    for method in ("get", "patch", "delete"):
        response = getattr(customer_client, method)(
            f"/api/v1/me/addresses/{theirs.pk}", {"city": "Nice"}, format="json"
        )
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.city == "Paris"
    assert customer_client.get("/api/v1/me/addresses").json()["count"] == 0


def test_an_address_id_no_row_can_have_is_not_found(customer_client):
    huge = 10**30
    assert customer_client.get(f"/api/v1/me/addresses/{huge}").status_code == 404
    assert customer_client.delete(f"/api/v1/me/addresses/{huge}").status_code == 404


def test_addresses_need_a_token(api_client):
    assert api_client.get("/api/v1/me/addresses").status_code == 401


def test_timestamps_are_kept_on_addresses(customer_client):
    before = timezone.now()
    customer_client.post("/api/v1/me/addresses", ADDRESS, format="json")
    assert Address.objects.get().created_at >= before


def _schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def test_the_schema_says_which_countries_and_passwords_are_accepted(api_client):
    """A client (or a fuzzer) reading the schema learns the rules that make a 400: ISO codes in capitals,
    passwords of at least 8 characters that are not all digits, and DELETE /me's password body."""
    schema = _schema(api_client)
    components = schema["components"]["schemas"]
    country = components["AddressInputRequest"]["properties"]["country"]
    if "allOf" in country:  # enums are shared components
        country = components[country["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert "DE" in country["enum"] and "de" not in country["enum"] and "XX" not in country["enum"]
    password = components["RegisterInputRequest"]["properties"]["password"]
    assert password["minLength"] == 8 and password["pattern"]
    delete_me = schema["paths"]["/api/v1/me"]["delete"]
    body = delete_me["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/CloseAccountInputRequest")


def test_an_all_digit_password_is_refused(api_client):
    response = api_client.post(
        "/api/v1/auth/register", {"email": "d@example.com", "password": "4815162342"}, format="json"
    )
    assert response.status_code == 400
    assert "password" in response.json()["errors"]
