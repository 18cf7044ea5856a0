"""OWASP API2:2023 (credential stuffing against the admin): repeated failed admin logins lock the
account and, separately, the address (django-axes); staff see the lock-out and a superuser lifts it."""

import pytest
from django.conf import settings
from django.test import Client

from tests.identity.factories import PASSWORD, CustomerFactory

pytestmark = pytest.mark.django_db


def admin_login(email: str, password: str, address: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=address).post("/admin/login/?next=/admin/", {"username": email, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


@pytest.fixture
def staff_member():
    return CustomerFactory(is_staff=True, is_superuser=True)


def test_a_staff_member_logs_in_with_the_right_password(staff_member):
    assert logged_in(admin_login(staff_member.email, PASSWORD))


def test_repeated_failures_lock_the_account_even_with_the_right_password_then(staff_member):
    answers = [
        admin_login(staff_member.email, "guess", address="198.51.100.1") for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers[0].status_code == 200, "a wrong password shows the login form again"
    locked = admin_login(staff_member.email, PASSWORD, address="198.51.100.2")
    assert not logged_in(locked)
    assert locked.status_code == 429, "locked out, from another address too: the account is locked"


def test_repeated_failures_from_one_address_lock_that_address_for_every_account(staff_member):
    for n in range(settings.AXES_FAILURE_LIMIT):
        admin_login(f"someone-{n}@example.com", "guess", address="198.51.100.9")
    assert admin_login(staff_member.email, PASSWORD, address="198.51.100.9").status_code == 429
    assert logged_in(admin_login(staff_member.email, PASSWORD, address="198.51.100.10")), "other addresses still work"


def test_a_superuser_sees_the_lock_out_and_lifts_it(staff_member):
    from axes.models import AccessAttempt

    victim = CustomerFactory(is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(victim.email, "guess", address="198.51.100.20")
    assert admin_login(victim.email, PASSWORD, address="198.51.100.21").status_code == 429

    superuser = Client()
    superuser.force_login(staff_member)
    listing = superuser.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert victim.email in listing.content.decode()
    attempts = list(AccessAttempt.objects.filter(username=victim.email).values_list("pk", flat=True))
    response = superuser.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": attempts, "post": "yes"}
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=victim.email).exists()
    assert logged_in(admin_login(victim.email, PASSWORD, address="198.51.100.22")), "lifted: the owner logs in"


def test_the_api_login_is_not_locked_by_admin_failures_but_throttled_on_its_own(staff_member):
    from rest_framework.test import APIClient

    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(staff_member.email, "guess", address="198.51.100.30")
    response = APIClient().post(
        "/api/v1/auth/token", {"email": staff_member.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200


def test_a_login_without_a_request_is_not_refused_by_the_lockout():
    from django.contrib.auth import authenticate

    customer = CustomerFactory()
    assert authenticate(email=customer.email, password=PASSWORD) == customer


def api_login(email: str, password: str, address: str):
    from rest_framework.test import APIClient

    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/token", {"email": email, "password": password}, format="json"
    )


def test_failed_api_logins_do_not_lock_the_staff_member_out_of_the_admin(staff_member):
    """Issue 22 bug 1: a customer's typos or anyone naming a staff email at the API counted towards the
    admin lock-out, and the admin then answered 429 for an hour to that account and that address."""
    from axes.models import AccessAttempt

    answers = [
        api_login(staff_member.email, "guess", address="198.51.100.40").status_code
        for _ in range(settings.AXES_FAILURE_LIMIT + 1)
    ]
    assert answers == [401] * (settings.AXES_FAILURE_LIMIT + 1), "the API answers for itself (its throttle is 10/min)"
    assert not AccessAttempt.objects.exists(), "the admin's lock-out records admin logins only"
    assert logged_in(admin_login(staff_member.email, PASSWORD, address="198.51.100.40")), "same address, same account"
    assert logged_in(admin_login(staff_member.email, PASSWORD, address="198.51.100.41"))


def test_admin_failures_still_lock_after_api_failures(staff_member):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api_login(staff_member.email, "guess", address="198.51.100.50")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(staff_member.email, "guess", address="198.51.100.51")
    assert admin_login(staff_member.email, PASSWORD, address="198.51.100.52").status_code == 429
    assert api_login(staff_member.email, PASSWORD, address="198.51.100.52").status_code == 200, (
        "the API is not the admin"
    )


def lockout_note(response) -> str:
    page = response.content.decode()
    return " ".join(page.split('class="errornote">')[1].split("</p>")[0].split())


def test_the_lock_out_page_names_the_lock_that_applies(staff_member):
    """Locked by account, by address or both: the page says which, so staff know whether another
    address or another account would do (and what a superuser has to lift)."""
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit):  # the account, from addresses of their own: the account alone is locked
        admin_login(staff_member.email, "guess", address="198.51.100.31")
    by_account = lockout_note(admin_login(staff_member.email, PASSWORD, address="198.51.100.32"))
    assert f"locked for {staff_member.email}" in by_account and "this address" not in by_account, by_account

    for n in range(limit):  # many accounts from one address: the address alone is locked
        admin_login(f"someone-{n}@example.com", "guess", address="198.51.100.41")
    other = CustomerFactory(is_staff=True)
    by_address = lockout_note(admin_login(other.email, PASSWORD, address="198.51.100.41"))
    assert "from this address" in by_address and other.email not in by_address, by_address

    both = lockout_note(admin_login(staff_member.email, PASSWORD, address="198.51.100.41"))
    assert f"for {staff_member.email}" in both and "from this address" in both, both
