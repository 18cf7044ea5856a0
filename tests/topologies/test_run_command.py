"""``LIFTED=notifications bin/shop``: one command starts the monolith, the relay, the notifications service
(web, consumer, jobs) and the gateway on PORT; a customer who registers through the gateway gets exactly one
welcome mail (sent by the service, over RabbitMQ), every answer of /me/notifications at a 50 % share is
correct whoever gives it, and SIGTERM stops every process it started. On SQLite, and on PostgreSQL when
DATABASE_URL names one."""

import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter

import pytest

from tests.support.http import request
from tests.support.processes import ROOT, clean_environment, free_port, get
from tests.topologies.support import MailServer, delete_broker_topology, processes_in_session


def _postgresql_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'commerce.sqlite3'}"
        return
    base = _postgresql_url()
    if base is None:
        if os.environ.get("REQUIRE_POSTGRESQL") == "1":
            pytest.fail("This test needs PostgreSQL and REQUIRE_POSTGRESQL=1 is set.")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    name = f"{base.partition('?')[0].rpartition('/')[2]}_topology_{uuid.uuid4().hex[:8]}"
    yield f"{base.partition('?')[0].rpartition('/')[0]}/{name}"
    import psycopg

    admin = f"{base.partition('?')[0].rpartition('/')[0]}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        for database in (name, f"{name}_notifications_service"):
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{what} within {seconds} s")


def test_the_lifted_topology_starts_with_one_command_and_stops_with_sigterm(tmp_path, database_url, rabbitmq, nginx):
    port = free_port()
    prefix = f"topology-test-{uuid.uuid4().hex[:10]}"
    log = tmp_path / "shop.log"
    with MailServer() as mail, open(log, "w") as output:
        env = clean_environment(
            LIFTED="notifications",
            NOTIFICATIONS_SHARE="50",
            PORT=str(port),
            MONOLITH_PORT=str(free_port()),
            NOTIFICATIONS_PORT=str(free_port()),
            WEB_CONCURRENCY="1",
            COMMERCE_VAR_DIR=str(tmp_path / "var"),
            DATABASE_URL=database_url,
            EVENTS_BROKER_URL=rabbitmq,
            EVENTS_TOPOLOGY_PREFIX=prefix,
            EMAIL_BACKEND="",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(mail.port),
            LOG_FORMAT="json",
        )
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # bin/shop gives each deployable its own under var/
        shop = subprocess.Popen(
            [str(ROOT / "bin" / "shop")],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            gateway = f"http://127.0.0.1:{port}"

            def answering():
                assert shop.poll() is None, log.read_text()[-4000:]
                try:
                    return get(f"{gateway}/api/v1/products?page_size=1", timeout=2)[0] == 200
                except OSError:
                    return False

            wait_for(answering, 600, "the gateway did not answer")
            email = f"lift-{uuid.uuid4().hex[:8]}@example.com"
            credentials = {"email": email, "password": "correct-horse-battery"}
            assert request("POST", f"{gateway}/api/v1/auth/register", credentials).status == 201
            token = request("POST", f"{gateway}/api/v1/auth/token", credentials).body["access"]

            def notifications():
                status, headers, body = get(
                    f"{gateway}/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"}
                )
                kinds = [item["kind"] for item in json.loads(body)["results"]] if status == 200 else None
                return status, headers.get("X-Served-By"), kinds

            seen_by = set()

            def both_sides_know_the_welcome():
                _, who, kinds = notifications()
                if kinds == ["welcome"]:
                    seen_by.add(who)
                return seen_by == {"monolith", "notifications"}

            wait_for(both_sides_know_the_welcome, 120, f"both deployables did not list the welcome ({seen_by})")
            answers = [notifications() for _ in range(40)]
            assert {(status, tuple(kinds)) for status, _, kinds in answers} == {(200, ("welcome",))}
            served = Counter(who for _, who, _ in answers)
            assert set(served) == {"monolith", "notifications"}, served

            wait_for(lambda: mail.received, 60, "no mail arrived")
            time.sleep(3)  # a second sender would have sent by now
            welcome = [subject for recipients, subject in mail.received if recipients == [email]]
            assert len(welcome) == 1, mail.received
        finally:
            shop.send_signal(signal.SIGTERM)
            try:
                shop.wait(timeout=90)
            finally:
                left = processes_in_session(shop.pid)
                if shop.poll() is None or left:
                    os.killpg(shop.pid, signal.SIGKILL)
                delete_broker_topology(rabbitmq, prefix)
    assert left == [], f"bin/shop left processes running: {left}"
    assert get_refused(port), "the gateway still listens after bin/shop stopped"


def get_refused(port: int) -> bool:
    try:
        get(f"http://127.0.0.1:{port}/health/live", timeout=2)
    except OSError:
        return True
    return False
