"""Mail (issue 22, bug 8): production reaches the SMTP server the environment names (host, port, user,
password, TLS); development writes each message to a file under ``var/mail/`` a person can open; the
password-reset link points at the storefront the settings name, never an invented address.

The SMTP server is a real one (aiosmtpd) on a free loopback port: what arrives is what a mail server
would have been handed. Processes started here write development mail to a temporary folder."""

import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from tests.identity.factories import PASSWORD
from tests.identity.integration.test_accounts_api import NEW_PASSWORD, reset_link
from tests.notifications.mailbox import SECRET, USER, after_commit, html_of, text_of
from tests.support.processes import ROOT, clean_environment, run_python

SEND_ONE = (
    "import django, sys; django.setup()\n"
    "from django.conf import settings\n"
    "from django.core.mail import send_mail\n"
    "send_mail('Your order 100001 is confirmed', 'Thank you, Zoë: 2 × Blue tee.', None, ['ann@example.com'])\n"
    "print(settings.EMAIL_BACKEND)\n"
)


def test_production_sends_through_the_smtp_server_the_environment_names(smtp_server):
    result = run_python(
        SEND_ONE,
        COMMERCE_PROFILE="production",
        SECRET_KEY="k" + "Zq8!vL2#pT0z@rW7^mN4$bY9&hJ3*eD6(sF1)gA5_cV8+uI0=oP2~xR7",
        ALLOWED_HOSTS="shop.example.com",
        JWT_PRIVATE_KEY_FILE=str(django_settings.JWT_DEVELOPMENT_KEY_FILE),
        EMAIL_BACKEND="",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
        EMAIL_HOST_USER=USER,
        EMAIL_HOST_PASSWORD=SECRET,
        DEFAULT_FROM_EMAIL="Commerce <orders@shop.example.com>",
    )
    assert result.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"
    assert smtp_server.logins == [USER], "logged in with the user and password from the environment"
    ((sender, recipients, message),) = smtp_server.received
    assert (sender, recipients) == ("orders@shop.example.com", ["ann@example.com"])
    assert message["From"] == "Commerce <orders@shop.example.com>"
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Your order 100001 is confirmed"
    assert text_of(message).strip() == "Thank you, Zoë: 2 × Blue tee."


def ask_for_a_reset(client, email: str, capture) -> None:
    """POST /auth/password-reset and let what it set off run: identity publishes, notifications sends."""
    with after_commit(capture):
        assert client.post("/api/v1/auth/password-reset", {"email": email}, format="json").status_code == 202


@pytest.mark.django_db
def test_the_reset_mail_reaches_the_mail_server_with_a_link_to_the_storefront(
    api_client, customer, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = USER, SECRET
    settings.STOREFRONT_URL = "https://shop.example.com/"
    ask_for_a_reset(api_client, customer.email, django_capture_on_commit_callbacks)

    ((_, recipients, message),) = smtp_server.received
    assert recipients == [customer.email]
    text = text_of(message)
    assert "https://shop.example.com/reset-password?uid=" in text
    assert "localhost:3000" not in message.as_string()
    assert 'href="https://shop.example.com/reset-password?uid=' in html_of(message)

    uid, token = reset_link(text_of(message))
    confirm = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    assert api_client.post("/api/v1/auth/password-reset/confirm", confirm, format="json").status_code == 204


@pytest.fixture
def no_storefront(settings):
    settings.STOREFRONT_URL = ""
    if hasattr(settings, "IDENTITY_PASSWORD_RESET_URL"):
        del settings.IDENTITY_PASSWORD_RESET_URL


@pytest.mark.django_db
def test_without_a_storefront_the_reset_mail_says_how_to_reset_and_invents_no_address(
    api_client, customer, no_storefront, mailbox, django_capture_on_commit_callbacks
):
    ask_for_a_reset(api_client, customer.email, django_capture_on_commit_callbacks)
    (message,) = mailbox.messages
    body = text_of(message)
    assert "localhost" not in body and "http" not in body
    assert "POST /api/v1/auth/password-reset/confirm" in body
    uid, token = reset_link(body)
    confirm = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    assert api_client.post("/api/v1/auth/password-reset/confirm", confirm, format="json").status_code == 204
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD) and not customer.check_password(PASSWORD)


@pytest.mark.django_db
def test_a_reset_page_of_its_own_overrides_the_storefront(
    api_client, customer, settings, mailbox, django_capture_on_commit_callbacks
):
    settings.STOREFRONT_URL = "https://shop.example.com"
    settings.IDENTITY_PASSWORD_RESET_URL = "https://account.example.com/password?u={uid}&t={token}"
    ask_for_a_reset(api_client, customer.email, django_capture_on_commit_callbacks)
    assert "https://account.example.com/password?u=" in text_of(mailbox.messages[0])


def test_development_writes_each_message_to_a_file_a_person_can_read(tmp_path):
    result = run_python(
        SEND_ONE,
        COMMERCE_PROFILE="development",
        COMMERCE_VAR_DIR=str(tmp_path),
        EMAIL_BACKEND="",
        EMAIL_HOST="",
        EMAIL_FILE_PATH="",
    )
    assert result.stdout.strip() == "django.core.mail.backends.filebased.EmailBackend"
    (written,) = (tmp_path / "mail").iterdir()
    text = written.read_text()
    assert "Subject: Your order 100001 is confirmed" in text
    assert "To: ann@example.com" in text
    assert "Thank you, Zoë: 2 × Blue tee." in text, "the body as written, not encoded"


def test_development_with_a_mail_server_named_sends_there(smtp_server, tmp_path):
    run_python(
        SEND_ONE,
        COMMERCE_PROFILE="development",
        COMMERCE_VAR_DIR=str(tmp_path),
        EMAIL_BACKEND="",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
    )
    assert [recipients for _, recipients, _ in smtp_server.received] == [["ann@example.com"]]
    assert not (tmp_path / "mail").exists()


def mail_settings(**env: str) -> subprocess.CompletedProcess:
    script = (
        "import django; django.setup(); from django.conf import settings as s\n"
        "print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_USE_SSL, s.EMAIL_TIMEOUT)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tls_picks_its_usual_port_and_tls_with_ssl_is_refused():
    assert mail_settings(EMAIL_HOST="smtp.example.com", EMAIL_USE_TLS="1").stdout.split() == [
        "smtp.example.com",
        "587",
        "True",
        "False",
        "10",
    ]
    assert mail_settings(EMAIL_HOST="smtp.example.com", EMAIL_USE_SSL="1").stdout.split()[1:4] == [
        "465",
        "False",
        "True",
    ]
    both = mail_settings(EMAIL_HOST="smtp.example.com", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")
    assert both.returncode != 0
    assert "EMAIL_USE_TLS and EMAIL_USE_SSL" in both.stderr
