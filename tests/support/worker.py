"""A real Celery worker for the tests of the celery dispatch mode, and a wait for its deliveries."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connections

from commerce.database import context_aliases

ROOT = Path(__file__).resolve().parents[2]


def _purge_queue() -> None:
    from commerce.celery import app

    app.control.purge()


@contextmanager
def running_worker() -> Iterator[subprocess.Popen]:
    """Start ``celery worker`` pointed at the test databases and stop it afterwards.

    Under pytest-xdist every test process runs one, on a queue of its own (``tests/settings.py``)."""
    for alias in connections:
        connections[alias].close()  # SQLite test files and PostgreSQL test databases are committed
    _purge_queue()
    env = {**os.environ, "COMMERCE_USE_TEST_DATABASES": "1", "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE}
    log_path = Path(os.environ["PROBE_ATTEMPTS_DIR"]) / "test-celery-worker.log"  # removed with the session
    log = open(log_path, "w")  # noqa: SIM115
    name = f"test-{os.getpid()}@{socket.gethostname()}"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "commerce", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", name],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for_worker(process, name, log_path)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_for_worker(process: subprocess.Popen, name: str, log_path: Path, timeout: float = 60.0) -> None:
    """Until this worker answers a ping: another test process's worker may share the broker."""
    from commerce.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The Celery worker exited with {process.returncode}:\n{_tail(log_path)}")
        if app.control.ping(destination=[name], timeout=1.0):
            return
    raise RuntimeError(f"The Celery worker did not answer within a minute:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def undelivered_count() -> int:
    """Deliveries this process's dispatch still owes; ``relay:*`` ones (a lifted context's) are the
    relay's to send through the broker, and no worker here ever will."""
    from commerce.eventbus.models import Delivery
    from commerce.eventbus.subscriptions import RELAY_PREFIX

    return sum(
        Delivery.objects.using(alias)
        .filter(status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED])
        .exclude(subscription__startswith=RELAY_PREFIX)
        .count()
        for alias in context_aliases()
    )


def wait_until_delivered(*, timeout: float = 30.0) -> None:
    """Return once every delivery is delivered or dead-lettered; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while undelivered_count():
        if time.monotonic() > deadline:
            raise AssertionError(f"{undelivered_count()} event deliveries still pending after {timeout}s")
        time.sleep(0.05)
