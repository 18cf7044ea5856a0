"""The run command's superuser from ADMIN_EMAIL / ADMIN_PASSWORD (issue 9 point 1, second half): an
existing account is never silently left with a password the operator believes was applied."""

import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.support.processes import ROOT, clean_environment


def ensure(email: str, password: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("ensure_superuser", email=email, password=password, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_creates_the_superuser_once_then_says_the_password_matches():
    assert "created" in ensure("Admin@Shop.example", "a-long-admin-secret")
    user = get_user_model().objects.get(email__iexact="admin@shop.example")
    assert user.is_superuser and user.is_staff and user.check_password("a-long-admin-secret")

    assert "matches" in ensure("admin@shop.example", "a-long-admin-secret")
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
def test_a_changed_admin_password_is_reported_and_the_staffs_password_kept():
    ensure("admin@shop.example", "a-long-admin-secret")
    user = get_user_model().objects.get()
    user.set_password("changed-in-the-admin")
    user.save()

    output = ensure("admin@shop.example", "another-env-secret")

    assert "was NOT applied" in output and "changepassword" in output
    user.refresh_from_db()
    assert user.check_password("changed-in-the-admin")


@pytest.mark.django_db
def test_an_existing_customer_is_not_promoted_and_the_console_says_so(customer):
    output = ensure(customer.email, "a-long-admin-secret")

    assert "not an active superuser" in output
    customer.refresh_from_db()
    assert not customer.is_superuser and not customer.is_staff


@pytest.mark.django_db
def test_a_bad_email_fails_loudly_and_creates_nothing():
    with pytest.raises(CommandError, match="not an email address"):
        ensure("not-an-email", "a-long-admin-secret")
    assert not get_user_model().objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_run_commands_step_prints_the_note_and_does_not_swallow_errors(settings):
    get_user_model().objects.create_superuser(email="admin@shop.example", password="changed-in-the-admin")

    def run(email: str, password: str) -> subprocess.CompletedProcess:
        env = clean_environment(
            COMMERCE_USE_TEST_DATABASES="1",
            DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
            ADMIN_EMAIL=email,
            ADMIN_PASSWORD=password,
        )
        return subprocess.run(
            ["bash", "-c", "source bin/_env.sh && ensure_superuser"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    result = run("admin@shop.example", "the-env-secret")
    assert result.returncode == 0, result.stderr
    assert "ADMIN_PASSWORD was NOT applied" in result.stdout

    result = run("not-an-email", "the-env-secret")
    assert result.returncode != 0
    assert "not an email address" in result.stderr
