"""Processes of the lifted topology, started the way bin/shop starts them: a deployable under gunicorn, the
gateway under nginx (tools/gateway.py), each on a free loopback port, each stopped with SIGTERM at the end."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import ROOT, clean_environment, free_port, get

SERVICE_SETTINGS = "services.notifications.settings"


def stop(process: subprocess.Popen, timeout: float = 40) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_answering(process: subprocess.Popen, url: str, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds  # a machine busy with other test runs boots slowly
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if get(url, timeout=2)[0] < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {seconds} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def manage(*args: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


@contextmanager
def running_deployable(wsgi: str, *, workers: int = 1, **env: str) -> Iterator[tuple[str, Path]]:
    """``gunicorn -c python:commerce.gunicorn_conf <wsgi>`` on a free port: its base URL and its log file."""
    port = free_port()
    scratch = Path(tempfile.mkdtemp(prefix="commerce-deployable-"))
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(scratch / "prometheus"))
    log = scratch / "log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:commerce.gunicorn_conf", wsgi],
            cwd=ROOT,
            env=clean_environment(PORT=str(port), WEB_CONCURRENCY=str(workers), **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, f"{base}/health/live", log)
        yield base, log
    finally:
        stop(process)


@contextmanager
def running_gateway(*, monolith: str, notifications: str, share: int) -> Iterator[tuple[str, Path]]:
    """nginx configured by tools/gateway.py in front of two deployables: its base URL and its prefix."""
    port = free_port()
    prefix = Path(tempfile.mkdtemp(prefix="commerce-gateway-"))
    os.chmod(prefix, 0o755)  # nginx's workers run as nobody when the tests run as root
    log = prefix / "stdout"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "tools/gateway.py",
                "run",
                f"--monolith={monolith.removeprefix('http://')}",
                f"--notifications={notifications.removeprefix('http://')}",
                f"--listen=127.0.0.1:{port}",
                f"--share={share}",
                f"--prefix={prefix}",
            ],
            cwd=ROOT,
            env=clean_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, f"{base}/health/live", log, seconds=30)
        yield base, prefix
    finally:
        stop(process)


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], object]:
    status, response_headers, body = get(url, headers=headers)
    return status, response_headers, json.loads(body)


class MailServer:
    """A real SMTP server (aiosmtpd) on a loopback port, keeping what it was handed: ``(recipients, subject)``."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.received: list[tuple[list[str], str]] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        import email
        import email.policy

        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), str(message["Subject"])))
        return "250 Message accepted for delivery"

    def __enter__(self) -> "MailServer":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def processes_in_session(session: int) -> list[str]:
    """The command lines of the processes still in ``session`` (what a run command started and left)."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session:
                left.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip())
        except (OSError, ValueError):
            continue
    return [command for command in left if command]


def delete_broker_topology(broker_url: str, prefix: str) -> None:
    """What ``declare_topology`` declared under a test's prefix, deleted (the broker is shared)."""
    from django.conf import settings
    from kombu import Connection

    with Connection(broker_url, connect_timeout=5) as connection:
        channel = connection.channel()
        partitions = [f"{prefix}.notifications.{p}" for p in range(settings.EVENTS_PARTITIONS)]
        for queue in (*partitions, f"{prefix}.notifications.dead", f"{prefix}.notifications.wait"):
            try:
                channel.queue_delete(queue)
            except Exception:
                channel = connection.channel()
        for exchange in (f"{prefix}.events", f"{prefix}.dead", f"{prefix}.wait"):
            try:
                channel.exchange_delete(exchange)
            except Exception:
                channel = connection.channel()
