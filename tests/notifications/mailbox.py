"""A real SMTP server (aiosmtpd) on a free loopback port, for tests that read what was actually sent.

``smtp_server`` is the bare server (it wants a login when one is given); ``mailbox`` also points this
process's Django at it (the SMTP backend, no login), so whatever the shop sends arrives there.
"""

import email
import email.policy
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.conf import settings
from django.test import override_settings

from commerce.database import context_aliases
from tests.support.processes import free_port

USER, SECRET = "shop-mailer", "mailer-secret-42"


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

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, _, message in self.received]

    def to(self) -> list[list[str]]:
        return [recipients for _, recipients, _ in self.received]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    """An SMTP server on loopback that takes a login (over plain text here: the test has no certificate)."""
    server = MailServer(port=free_port())
    controller = Controller(
        server, hostname="127.0.0.1", port=server.port, authenticator=server.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server, settings) -> MailServer:
    """The shop in this process sends through ``smtp_server``: the test reads what arrived there."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    return smtp_server


@contextmanager
def after_commit(capture, *, execute: bool = True) -> Iterator[None]:
    """What runs after the test's commits, on every context's database (``capture`` is pytest-django's
    ``django_capture_on_commit_callbacks``). In split mode identity publishes on ``default`` and
    notifications records and sends on its own database: ``default``'s callbacks run first (innermost),
    and what they leave on the other databases runs as those captures close. The deliveries run in this
    process whatever the dispatcher (a Celery worker cannot see this test's uncommitted rows)."""
    with ExitStack() as stack:
        stack.enter_context(override_settings(EVENTBUS={**settings.EVENTBUS, "DISPATCH": "inline"}))
        for alias in reversed(context_aliases()):
            stack.enter_context(capture(using=alias, execute=execute))
        yield
