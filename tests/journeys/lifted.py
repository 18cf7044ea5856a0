"""The two topologies around a test, with the real parts: a real SMTP server (aiosmtpd) in the test
process, and for the lifted one the real RabbitMQ under a topology prefix of the test's own and the
notifications service's consumer and web as processes of their own, on the service's settings and its
own database (a per-test PostgreSQL database when the tests run on PostgreSQL, a file otherwise).

The test process is the monolith. ``settings.LIFTED`` and everything the switch decides
(``commerce.topology``, ``contexts.notifications.conf``) is read on each call, so the ``settings``
fixture switches it for one test. Deliveries run inline here whatever the stage's dispatch: the
monolith's handlers must run where ``LIFTED`` is set and mail must leave from a process that knows this
test's SMTP server (the celery stage's worker is started once per session, before either exists).
"""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from commerce.eventbus.remote import amqp as port
from commerce.eventbus.remote.relay import owed_count
from tests.support.processes import ROOT, clean_environment
from tests.support.worker import undelivered_count, wait_until_delivered
from tests.topologies.support import SERVICE_SETTINGS, MailServer, manage, running_deployable, stop

PASSWORD = "correct-horse-battery"
_MESSAGE_ID = re.compile(r"<(?P<kind>[a-z_]+)\.(?P<event>[0-9a-f-]{36})@")


class Mail(MailServer):
    """The SMTP server, keeping each message's recipient and ``Message-ID`` (``<kind.event_id@…>``), so a
    test counts per customer and per kind what was really handed over, and sees a second copy of one."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[str, str, str]] = []  # (recipient, kind, Message-ID)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        import email
        import email.policy

        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        message_id = str(message["Message-ID"]).strip()
        found = _MESSAGE_ID.search(message_id)
        for recipient in envelope.rcpt_tos:
            self.messages.append((recipient, found["kind"] if found else "?", message_id))
        return "250 Message accepted for delivery"

    def kinds(self, recipient: str) -> Counter:
        return Counter(kind for to, kind, _ in self.messages if to == recipient)

    def wait_for(self, count: int, *, timeout: float = 60.0, log: Path | None = None) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
                raise AssertionError(
                    f"{len(self.messages)} of {count} mails within {timeout} s: {self.messages}\n{tail}"
                )
            time.sleep(0.05)

    def assert_each_once(self, count: int, *, quiet: float = 3.0) -> None:
        """``count`` mails and no more once a second sender would have sent too; no Message-ID twice."""
        self.wait_for(count)
        time.sleep(quiet)
        ids = Counter(message_id for _, _, message_id in self.messages)
        assert [i for i, n in ids.items() if n > 1] == [], self.messages
        assert len(self.messages) == count, self.messages


@pytest.fixture
def mail(settings) -> Iterator[Mail]:
    """The SMTP server, and this process's mail sent to it (not to Django's memory outbox)."""
    with Mail() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EVENTBUS = {**settings.EVENTBUS, "DISPATCH": "inline"}
        yield server


@pytest.fixture
def broker(settings) -> Iterator[str]:
    """The monolith with notifications lifted, under a topology of this test's own on the real RabbitMQ
    (``declare_topology``, deleted afterwards): the prefix. Skips without a broker unless REQUIRE_RABBITMQ=1."""
    try:
        port.connect(timeout=2).close()
    except port.CONNECTION_ERRORS:
        if os.environ.get("REQUIRE_RABBITMQ") == "1":
            pytest.fail(f"RabbitMQ does not answer at {django_settings.EVENTS_BROKER_URL} and REQUIRE_RABBITMQ=1.")
        pytest.skip("needs RabbitMQ (EVENTS_BROKER_URL)")
    prefix = settings.EVENTS_TOPOLOGY_PREFIX = f"test-journey-{uuid.uuid4().hex[:12]}"
    settings.LIFTED = frozenset({"notifications"})
    settings.EVENTBUS = {**settings.EVENTBUS, "DISPATCH": "inline"}
    call_command("declare_topology", stdout=open(os.devnull, "w"))  # noqa: SIM115
    try:
        yield prefix
    finally:
        port.delete(["notifications"], prefix=prefix)


def relay(*, url: str | None = None) -> None:
    """What the relay process does, once: every due ``relay:notifications`` delivery to the broker."""
    out = open(os.devnull, "w")  # noqa: SIM115
    if url is None:
        call_command("relay_events", "--once", stdout=out)
        return
    with override_settings(EVENTS_BROKER_URL=url):
        call_command("relay_events", "--once", stdout=out)


def settle_lifted() -> None:
    """The monolith's own deliveries done, then what it owes the service relayed."""
    for _ in range(5):
        wait_until_delivered()
        relay()
        if not undelivered_count() and not owed_count():
            return
    raise AssertionError(f"{undelivered_count()} deliveries, {owed_count()} relay deliveries still owed")


class NotificationsService:
    """The notifications service's processes (consumer, web, periodic jobs) on its own database, reading
    this test's queue and sending to this test's SMTP server; identity's public keys in a file."""

    def __init__(self, tmp_path: Path, *, mail: Mail, jwks: dict, broker_url: str | None = None, **env: str) -> None:
        keys = tmp_path / "jwks.json"
        keys.write_text(json.dumps(jwks))
        self.tmp_path = tmp_path
        self.database = ""
        if connection.vendor == "postgresql":
            base = os.environ["DATABASE_URL"].partition("?")[0]
            self.database = f"{base.rpartition('/')[2]}_svc_{uuid.uuid4().hex[:10]}"
            url = f"{base.rpartition('/')[0]}/{self.database}"
        else:
            url = f"sqlite:///{tmp_path / 'notifications-service.sqlite3'}"
        self.database_url = url
        self.env = {
            "DJANGO_SETTINGS_MODULE": SERVICE_SETTINGS,
            "COMMERCE_VAR_DIR": str(tmp_path / "service-var"),
            "SERVICE_DATABASE_URL": url,
            "JWT_PUBLIC_KEYS_FILE": str(keys),
            "EVENTS_BROKER_URL": broker_url or django_settings.EVENTS_BROKER_URL,
            "EVENTS_TOPOLOGY_PREFIX": django_settings.EVENTS_TOPOLOGY_PREFIX,
            "EMAIL_BACKEND": "",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(mail.port),
            "LOG_FORMAT": "plain",
            **env,
        }
        self.log = tmp_path / "consumer.log"

    def migrate(self) -> None:
        manage("migrate_all", **self.env)

    @contextmanager
    def consumer(self, *args: str) -> Iterator[subprocess.Popen]:
        """``manage.py consume_events notifications`` on the service's settings, stopped with SIGTERM."""
        with open(self.log, "a") as output:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "consume_events", "notifications", *args],
                cwd=ROOT,
                env=clean_environment(**self.env),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            yield process
        finally:
            stop(process)

    def run_periodic_once(self) -> None:
        manage("run_periodic", "--once", **self.env)

    def web(self):
        """The service's WSGI application under gunicorn: ``(base URL, log)``."""
        return running_deployable("services.notifications.wsgi", **self.env)

    def drop(self) -> None:
        if not self.database:
            return
        import psycopg

        base = os.environ["DATABASE_URL"].partition("?")[0]
        with psycopg.connect(f"{base.rpartition('/')[0]}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@pytest.fixture
def notifications_service(tmp_path, mail, broker, client):
    """The service for a lifted test, migrated; its database dropped afterwards."""
    service = NotificationsService(tmp_path, mail=mail, jwks=client.get("/.well-known/jwks.json").json())
    try:
        service.migrate()
        yield service
    finally:
        service.drop()


# --- The customer's and the staff's steps, through the monolith's API and admin ---------------------


def register(email: str) -> APIClient:
    """A customer registered through the API, holding their access token."""
    customer = APIClient()
    credentials = {"email": email, "password": PASSWORD}
    registered = customer.post("/api/v1/auth/register", credentials, format="json")
    assert registered.status_code == 201, registered.json()
    token = customer.post("/api/v1/auth/token", credentials, format="json").json()["access"]
    customer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    customer.token = token
    customer.customer_id = customer.get("/api/v1/me").json()["id"]
    return customer


def staff(client, group: str):
    from contexts.identity.models import User

    with open(os.devnull, "w") as out:
        call_command("setup_roles", stdout=out)
    user = User.objects.create_user(f"{group}-{uuid.uuid4().hex[:6]}@example.com", "x-very-secret-1", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


def admin_action(client, model: str, action: str, ids) -> None:
    answer = client.post(
        reverse(f"admin:orders_{model}_changelist"), {"action": action, "_selected_action": [str(i) for i in ids]}
    )
    assert answer.status_code == 302, answer.content[:500]
