"""Real processes for the resilience tests: a private Redis, gunicorn, Celery workers, one-shot
management commands, and a TCP proxy in front of PostgreSQL that a test can make refuse connections.

Every wait here is bounded and fails with what the process wrote; no wait stands in for a signal
that can be observed (a fault point's file, a port answering, a row in the database).
"""

import errno
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from django.conf import settings

from tests.resilience import faults

ROOT = Path(__file__).resolve().parents[2]
# The ports of this test area (8230-8239): gunicorn, the database proxy, the private Redis.
WEB_PORT = 8230
PROXY_PORT = 8231
REDIS_PORT = 8239

# The saga's lease and the request's Idempotency-Key lock run out in seconds here, not minutes, so
# that the retry and the recovery job may take over a checkout whose process died.
QUICK_TAKEOVER = {"ORDERS_SAGA_LEASE_SECONDS": "3", "ORDERS_IDEMPOTENCY_LOCK_SECONDS": "3"}


def wait_for(
    condition: Callable[[], object], *, timeout: float, what: str, log: Path | None = None, raising: bool = True
) -> object:
    """Poll ``condition`` until it is truthy; fail naming ``what`` (and the process's log) after ``timeout``
    (or, with ``raising=False``, return the falsy value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            if not raising:
                return value
            raise AssertionError(
                f"Timed out after {timeout:.0f}s waiting for {what}." + (f"\n{tail(log)}" if log else "")
            )
        time.sleep(0.05)


def tail(path: Path | None, lines: int = 60) -> str:
    if path is None or not path.exists():
        return ""
    return "--- " + path.name + "\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def subprocess_database_url(*, port: int | None = None) -> str:
    """The URL of the test database pytest-django made (optionally through another port)."""
    config = settings.DATABASES["default"]
    user = config.get("USER") or "postgres"
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    host = config.get("HOST") or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{port or config.get('PORT') or 5432}/{config['NAME']}"


class Processes:
    """The subprocesses of one test, all sharing one environment; every one is killed at the end."""

    def __init__(self, scratch: Path, env: dict[str, str]) -> None:
        self.scratch = scratch
        self.faults = scratch / "faults"
        self.faults.mkdir()
        self.env = env
        self._running: list[tuple[subprocess.Popen, object]] = []

    def environment(self, **overrides: str) -> dict[str, str]:
        env = {**self.env, **overrides}
        return {key: value for key, value in env.items() if value is not None}

    def spawn(self, name: str, argv: list[str], **env: str) -> tuple[subprocess.Popen, Path]:
        log_path = self.scratch / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115
        process = subprocess.Popen(
            argv, cwd=ROOT, env=self.environment(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._running.append((process, log))
        return process, log_path

    def run(self, name: str, argv: list[str], *, timeout: float = 120, **env: str) -> str:
        """Run a one-shot command to its end; its output (fails the test if it failed)."""
        result = subprocess.run(
            argv, cwd=ROOT, env=self.environment(**env), capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"{name} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def manage(self, *args: str, **env: str) -> str:
        return self.run(args[0], [sys.executable, "manage.py", *args], **env)

    # --- the fault point -----------------------------------------------------------------------

    def wait_for_fault(self, *, timeout: float = 90, log: Path | None = None, directory: Path | None = None) -> int:
        """Wait until a process blocks at the fault point; its pid."""
        reached = (directory or self.faults) / faults.REACHED
        wait_for(lambda: reached.exists() and reached.read_text(), timeout=timeout, what="the fault point", log=log)
        return int(reached.read_text())

    def release_fault(self, directory: Path | None = None) -> None:
        """Let the process blocked at the fault point go on."""
        (directory or self.faults).joinpath(faults.RELEASE).write_text("go")

    # --- the shop's processes ------------------------------------------------------------------

    def gunicorn(self, *, workers: int = 1, ready: bool = True, **env: str) -> "Web":
        """gunicorn serving the shop on ``WEB_PORT``; with ``ready=False`` the caller waits for it
        (``wait_for(web.answers, …)``), so that it boots while other processes do."""
        process, log = self.spawn(
            "gunicorn",
            [sys.executable, "-m", "gunicorn", "-c", "python:commerce.gunicorn_conf", "tests.resilience.faulty_wsgi"],
            PORT=str(WEB_PORT),
            WEB_CONCURRENCY=str(workers),
            GUNICORN_TIMEOUT="120",
            GUNICORN_MAX_REQUESTS="100000",
            PROMETHEUS_MULTIPROC_DIR=str(self.scratch / "prometheus"),
            **env,
        )
        web = Web(process, log, f"http://127.0.0.1:{WEB_PORT}")
        if ready:
            web.wait_until_ready()
        return web

    def celery_workers(self, *names: str, **env: str) -> list[tuple[subprocess.Popen, Path]]:
        """Real ``celery worker`` processes (solo pool) on the test's broker, booting side by side,
        returned once each says it is ready."""
        started = [self.celery_worker(name, ready=False, **env) for name in names]
        for (process, log), name in zip(started, names, strict=True):
            self._wait_for_worker(process, log, name)
        return started

    def celery_worker(self, name: str = "worker", *, ready: bool = True, **env: str) -> tuple[subprocess.Popen, Path]:
        """A real ``celery worker`` (solo pool) on the test's broker, once it says it is ready."""
        process, log = self.spawn(
            name,
            [sys.executable, "-m", "celery", "-A", "tests.resilience.faulty_celery", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"{name}-{os.getpid()}@%h"],
            **env,
        )  # fmt: skip
        if ready:
            self._wait_for_worker(process, log, name)
        return process, log

    @staticmethod
    def _wait_for_worker(process: subprocess.Popen, log: Path, name: str) -> None:
        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the Celery worker exited with {process.returncode}\n{tail(log)}")
            # its own word that it consumes (a ping from here would go through this process's Celery
            # app, whose broker is not the test's private one)
            return log.exists() and " ready." in log.read_text(errors="replace")

        wait_for(answers, timeout=120, what=f"the Celery worker {name} to say it is ready", log=log)

    def publish_probe(self, key: str) -> None:
        """Publish a probe event from a process of its own (with this test's dispatch settings)."""
        code = (
            "from commerce.database import atomic_in\n"
            "from commerce.eventbus import publish\n"
            "from tests.probe_sink.events import Pinged\n"
            f"with atomic_in('probe'):\n    publish(Pinged(key={key!r}))\n"
        )
        self.manage("shell", "-c", code)

    def stop_all(self) -> None:
        for process, log in reversed(self._running):
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # the process group: gunicorn's workers too
                process.wait(timeout=30)
            log.close()
        self._running.clear()


class Web:
    def __init__(self, process: subprocess.Popen, log: Path, base: str) -> None:
        self.process, self.log, self.base = process, log, base

    def wait_until_ready(self) -> None:
        wait_for(self.answers, timeout=180, what="gunicorn to answer /health/live", log=self.log)

    def answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {self.process.returncode}\n{tail(self.log)}")
        try:
            return self.request("GET", "/health/live", timeout=2)[0] == 200
        except OSError:
            return False

    def request(
        self, method: str, path: str, body: object = None, *, headers: dict[str, str] | None = None, timeout: float = 60
    ) -> tuple[int, dict[str, str], object]:
        """One HTTP request; (status, headers, JSON body or text). Connection errors are raised."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, head = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, head = error.code, error.read(), dict(error.headers)
        try:
            return status, head, json.loads(raw)
        except ValueError:
            return status, head, raw.decode(errors="replace")

    def request_in_background(self, method: str, path: str, body: object, headers: dict[str, str]) -> dict:
        """Send a request from a thread (it may never be answered: its server dies); its outcome later."""
        outcome: dict = {}

        def send() -> None:
            try:
                outcome["response"] = self.request(method, path, body, headers=headers, timeout=120)
            except Exception as exc:  # the connection dies with the worker
                outcome["error"] = exc

        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        outcome["thread"] = thread
        return outcome


class PrivateRedis:
    """A redis-server of this test's own on ``REDIS_PORT`` (never the shared one), stoppable."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{REDIS_PORT}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        log = open(self.scratch / "redis.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [executable, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.scratch)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_for(self.answers, timeout=20, what=f"redis-server on port {REDIS_PORT}", log=self.scratch / "redis.log")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process = None


class DatabaseProxy:
    """A TCP proxy in front of PostgreSQL that the test can switch to refuse new connections and
    reset the open ones, then switch back. Runs in a thread of the test process."""

    def __init__(self, target: tuple[str, int], port: int = PROXY_PORT) -> None:
        self.target, self.port = target, port
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._stopped = threading.Event()
        self.accepting = threading.Event()

    def start(self) -> None:
        self._listen()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 2
        while True:  # the closed listener lingers while the accept loop's poll (0.1 s) still holds it
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError as error:
                if error.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self.accepting.set()

    def refuse(self) -> None:
        """From now on a connection attempt is refused, and every open connection is reset."""
        with self._lock:
            self.accepting.clear()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for client, server in self._pairs:
                for sock in (client, server):
                    with suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    with suppress(OSError):
                        sock.close()  # with SO_LINGER 0: a reset, as a database restart gives
            self._pairs.clear()

    def restore(self) -> None:
        with self._lock:
            self._listen()

    def stop(self) -> None:
        self._stopped.set()
        self.refuse()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(0.02)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if not self.accepting.is_set():
                    client.close()
                    server.close()
                    continue
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        sockets = [client, server]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 0.5)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (server if sock is client else client).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                if (client, server) in self._pairs:
                    self._pairs.remove((client, server))
            for sock in sockets:
                with suppress(OSError):
                    sock.close()


def scratch_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="commerce-resilience-", dir=os.environ.get("PROBE_ATTEMPTS_DIR")))


def sweep_until_delivered(processes: Processes, *, timeout: float = 90) -> None:
    """Run the recovery job (``manage.py eventbus_sweep``, one sweep per run) once what is owed is due
    (the grace period of a fresh delivery is over), again until every delivery is delivered."""
    from django.utils import timezone

    from commerce.eventbus.models import Delivery
    from tests.support.worker import undelivered_count

    deadline = time.monotonic() + timeout
    while undelivered_count():
        assert time.monotonic() < deadline, (
            f"{undelivered_count()} deliveries still undelivered after {timeout}s: "
            f"{list(Delivery.objects.exclude(status='delivered').values('subscription', 'status', 'last_error'))}"
        )
        owed = Delivery.objects.exclude(status="delivered")
        if owed.filter(next_attempt_at__lte=timezone.now()).exists():
            processes.manage("eventbus_sweep")
            wait_for(lambda: not undelivered_count(), timeout=10, what="", raising=False)
        else:
            time.sleep(0.2)


def retry_until_answered(web, body, key: str, *, timeout: float = 90):
    """Retry as a client does: again after each ``Retry-After`` while the first attempt is in progress."""
    deadline = time.monotonic() + timeout
    while True:
        status, headers, answer = web.request("POST", "/api/v1/checkout", body, headers={"Idempotency-Key": key})
        if not (status == 409 and answer.get("code") == "request_in_progress"):
            return status, headers, answer
        assert "Retry-After" in headers, headers
        assert time.monotonic() < deadline, f"still in progress after {timeout}s: {answer}"
        time.sleep(min(float(headers["Retry-After"]), 1.0))
