"""Mail (issue 22, bug 8): production reaches the SMTP server the environment names (host, port, user,
password, TLS); development writes each message to a file under ``var/mail/`` a person can open; the
password-reset link points at the storefront the settings name, never an invented address.

The SMTP server is a real one (aiosmtpd) on a free loopback port: what arrives is what a mail server
would have been handed. Processes started here write development mail to a temporary folder."""

import email
import email.policy
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.conf import settings as django_settings
from django.core import mail

from tests.identity.factories import PASSWORD
from tests.identity.integration.test_accounts_api import NEW_PASSWORD, reset_link
from tests.support.processes import ROOT, clean_environment, free_port, run_python

USER, SECRET = "shop-mailer", "mailer-secret-42"
SEND_ONE = (
    "import django, sys; django.setup()\n"
    "from django.conf import settings\n"
    "from django.core.mail import send_mail\n"
    "send_mail('Your order 100001 is confirmed', 'Thank you, Zoë: 2 × Blue tee.', None, ['ann@example.com'])\n"
    "print(settings.EMAIL_BACKEND)\n"
)


@dataclass
class MailServer:
    port: int
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(),
            SECRET.encode(),
        ):
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    """An SMTP server on loopback that wants a login (over plain text here: the test has no certificate)."""
    server = MailServer(port=free_port())
    controller = Controller(
        server, hostname="127.0.0.1", port=server.port, authenticator=server.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


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


@pytest.mark.django_db
def test_the_reset_mail_reaches_the_mail_server_with_a_link_to_the_storefront(
    api_client, customer, smtp_server, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = USER, SECRET
    settings.STOREFRONT_URL = "https://shop.example.com/"
    assert api_client.post("/api/v1/auth/password-reset", {"email": customer.email}, format="json").status_code == 202

    ((_, recipients, message),) = smtp_server.received
    assert recipients == [customer.email]
    text = text_of(message)
    assert "https://shop.example.com/reset-password?uid=" in text
    assert "localhost:3000" not in message.as_string()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'href="https://shop.example.com/reset-password?uid=' in html

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
    api_client, customer, no_storefront
):
    api_client.post("/api/v1/auth/password-reset", {"email": customer.email}, format="json")
    (message,) = mail.outbox
    assert "localhost" not in message.body and "http" not in message.body
    assert "POST /api/v1/auth/password-reset/confirm" in message.body
    uid, token = reset_link(message.body)
    confirm = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    assert api_client.post("/api/v1/auth/password-reset/confirm", confirm, format="json").status_code == 204
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD) and not customer.check_password(PASSWORD)


@pytest.mark.django_db
def test_a_reset_page_of_its_own_overrides_the_storefront(api_client, customer, settings):
    settings.STOREFRONT_URL = "https://shop.example.com"
    settings.IDENTITY_PASSWORD_RESET_URL = "https://account.example.com/password?u={uid}&t={token}"
    api_client.post("/api/v1/auth/password-reset", {"email": customer.email}, format="json")
    assert "https://account.example.com/password?u=" in mail.outbox[0].body


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
