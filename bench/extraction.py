"""The first extraction's figures: notifications embedded (``local``) against lifted (``remote``), one run.

Run against PostgreSQL (a fresh database of its own, dropped afterwards), RabbitMQ at EVENTS_BROKER_URL
(a topology under a prefix of its own, deleted afterwards)::

    .venv/bin/python bench/extraction.py

Started side by side, each with its own environment: gunicorn serving the monolith embedded
(``LIFTED`` empty, inline dispatch, the embedded default: the confirmation mail leaves from the web
request, after its commit) and gunicorn serving it lifted (``LIFTED=notifications``: the request
only writes the outbox), with that topology's relay (``manage.py relay_events``) and the service's
consumer (``manage.py consume_events notifications`` under ``services.notifications.settings``, its
own database). Both send to a real SMTP server (aiosmtpd) in this process. Figures printed:

1. end-to-end latency, p50/p99 over ``BENCH_ORDERS`` orders per topology (``BENCH_LATENCY_CLIENTS``
   clients placing them): from the ``OrderPlaced`` outbox row's ``created_at`` (written in the checkout's
   transaction, just before it commits) to the SMTP server's receipt of the order's confirmation (the
   mail's ``Message-ID`` names the event), both read from this machine's clock;
2. checkout throughput, ``BENCH_CLIENTS`` clients for ``BENCH_SECONDS`` a round, rounds alternating
   local/remote ``BENCH_ROUNDS`` times: checkouts/s, request p50/p99, the mail's latency under that
   load and how long after the round the last mail arrived, and the ratio remote/local of the medians;
3. that each order's mail arrived exactly once, and who sent it (the monolith's message log for local
   orders, the service's for remote ones).

Knobs: ``BENCH_ORDERS`` (200), ``BENCH_LATENCY_CLIENTS`` (1), ``BENCH_SECONDS`` (20), ``BENCH_ROUNDS`` (2
pairs), ``BENCH_CLIENTS`` (16), ``BENCH_WORKERS`` (2, each server's WEB_CONCURRENCY), ``BENCH_SKUS`` (32),
``BENCH_RELAY_IDLE`` (0.2, ``relay_events --idle-seconds``' default: the relay's pause when nothing is
due, most of the remote latency at light load), ``BENCH_PORT`` (8170: SMTP, then local and remote web on
the next two), ``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/commerce_bench_extraction``;
the name gets this run's suffix).
"""

import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUN = uuid.uuid4().hex[:6]
ORDERS = int(os.environ.get("BENCH_ORDERS") or 200)
LATENCY_CLIENTS = int(os.environ.get("BENCH_LATENCY_CLIENTS") or 1)
SECONDS = float(os.environ.get("BENCH_SECONDS") or 20)
ROUNDS = int(os.environ.get("BENCH_ROUNDS") or 2)
CLIENTS = int(os.environ.get("BENCH_CLIENTS") or 16)
WORKERS = int(os.environ.get("BENCH_WORKERS") or 2)
PORT = int(os.environ.get("BENCH_PORT") or 8170)
RELAY_IDLE = os.environ.get("BENCH_RELAY_IDLE") or "0.2"  # relay_events' own default: its pause when nothing is due
DRAIN_TIMEOUT = float(os.environ.get("BENCH_DRAIN_TIMEOUT") or 300)
_BASE_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/commerce_bench_extraction"
if not _BASE_URL.startswith(("postgres://", "postgresql://")):
    sys.exit("BENCH_DATABASE_URL must name a PostgreSQL database (its name gets a suffix of this run's)")
DATABASE_NAME = f"{_BASE_URL.partition('?')[0].rpartition('/')[2]}_{RUN}"
SERVICE_DATABASE_NAME = f"{DATABASE_NAME}_notifications_service"  # what services.notifications.settings derives
SMTP_PORT, LOCAL_PORT, REMOTE_PORT = PORT, PORT + 1, PORT + 2
PLACED = "orders.OrderPlaced"

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "commerce.settings",
        "DATABASE_URL": _BASE_URL.partition("?")[0].rpartition("/")[0] + f"/{DATABASE_NAME}",
        "DATABASE_SPLIT": "0",
        "EVENTBUS_DISPATCH": "inline",
        "LIFTED": "",
        "NOTIFICATIONS_SHARE": "100",
        "EVENTS_TOPOLOGY_PREFIX": f"bench-extraction-{RUN}",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(SMTP_PORT),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "ERROR"),
        "BENCH_SKUS": os.environ.get("BENCH_SKUS") or "32",  # read by bench/checkout's setup_shop
    }
)
for name in ("PROMETHEUS_MULTIPROC_DIR", "SERVICE_DATABASE_URL", "NOTIFICATIONS_SENDS"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.checkout import body, carts_for, percentile, setup_shop  # noqa: E402
from commerce.database import database_for  # noqa: E402
from commerce.eventbus.models import OutboxMessage  # noqa: E402
from commerce.eventbus.remote import amqp as port  # noqa: E402
from tests.support.http import request  # noqa: E402

logging.disable(logging.WARNING)
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<order_confirmation\.([0-9a-f-]{36})@", re.IGNORECASE | re.MULTILINE)


class Mailbox:
    """A real SMTP server on loopback noting when each order confirmation arrived (``time.time()``, the
    clock ``timezone.now()`` reads in every process here), by the event its ``Message-ID`` names."""

    def __init__(self, port: int) -> None:
        self.arrived: dict[str, list[float]] = defaultdict(list)
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        at = time.time()
        found = MESSAGE_ID.search(envelope.original_content)
        if found:
            self.arrived[found[1].decode()].append(at)
        return "250 Message accepted for delivery"


# --- Processes ------------------------------------------------------------------------------------


class Processes:
    """Every process the bench starts, each in a session of its own, stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self, scratch: Path) -> None:
        self.scratch, self.started = scratch, []

    def start(self, name: str, command: list[str], **env: str) -> tuple[subprocess.Popen, Path]:
        log = self.scratch / f"{name}.log"
        metrics = self.scratch / f"prometheus-{name}"  # one directory each: gunicorn's master empties its own
        metrics.mkdir()
        environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics), "PYTHONUNBUFFERED": "1", **env}
        with log.open("w") as output:
            process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append(process)
        return process, log

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_until(ready, what: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} was not ready within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def start_topologies(processes: Processes) -> dict[str, str]:
    python = sys.executable
    web = [python, "-m", "gunicorn", "-c", "python:commerce.gunicorn_conf", "commerce.wsgi"]
    server = {"HOST": "127.0.0.1", "WEB_CONCURRENCY": str(WORKERS), "DATABASE_CONN_MAX_AGE": "60"}
    local, local_log = processes.start("local-web", web, PORT=str(LOCAL_PORT), **server)
    remote, remote_log = processes.start("remote-web", web, PORT=str(REMOTE_PORT), LIFTED="notifications", **server)
    relay, relay_log = processes.start(
        "relay", [python, "manage.py", "relay_events", "--idle-seconds", RELAY_IDLE], LIFTED="notifications"
    )
    consumer, consumer_log = processes.start(
        "consumer",
        [python, "manage.py", "consume_events", "notifications"],
        DJANGO_SETTINGS_MODULE="services.notifications.settings",
    )
    bases = {"local": f"http://127.0.0.1:{LOCAL_PORT}", "remote": f"http://127.0.0.1:{REMOTE_PORT}"}
    for (mode, base), process, log in zip(bases.items(), (local, remote), (local_log, remote_log), strict=True):
        wait_until(lambda b=base: request("GET", f"{b}/health/live", timeout=5).status == 200, mode, process, log)
    wait_until(lambda: "Relaying" in relay_log.read_text(), "relay", relay, relay_log)
    wait_until(lambda: "Consuming" in consumer_log.read_text(), "consumer", consumer, consumer_log)
    return bases


# --- Load and figures -----------------------------------------------------------------------------


def drive(base: str, carts: list[str], clients: int, seconds: float | None = None) -> dict:
    """``clients`` threads checking the carts out one after the other (each sends its next checkout when
    the last one answered) until the carts are used or ``seconds`` have passed; the carts not checked
    out stay in ``carts``."""
    pending, lock, answers = carts, threading.Lock(), []
    deadline = time.perf_counter() + seconds if seconds else math.inf

    def client() -> None:
        while True:
            with lock:
                if not pending or time.perf_counter() > deadline:
                    return
                cart = pending.pop()
            began = time.perf_counter()
            try:
                status = request(
                    "POST", f"{base}/api/v1/checkout", body(cart), {"Idempotency-Key": uuid.uuid4().hex}
                ).status
            except OSError:
                status = 0  # no answer: counted with the answers other than 201
            answers.append((status, began, time.perf_counter()))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    span = max(end for _, _, end in answers) - min(began for _, began, _ in answers)
    created = sum(status == 201 for status, _, _ in answers)
    latencies = [(end - began) * 1000 for _, began, end in answers]
    return {
        "checkouts": created,
        "others": len(answers) - created,
        "seconds": span,
        "rate": created / span,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "ran_out": not pending,
    }


def placed_since(started) -> dict[str, float]:
    """The ``OrderPlaced`` events written since ``started``: event id → the outbox row's creation time."""
    rows = OutboxMessage.objects.using(database_for("orders")).filter(event_type=PLACED, created_at__gte=started)
    return {str(event_id): created.timestamp() for event_id, created in rows.values_list("event_id", "created_at")}


def await_mail(mailbox: Mailbox, placed: dict[str, float]) -> float:
    """Wait until every order's confirmation has arrived; when the last one did."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while any(event_id not in mailbox.arrived for event_id in placed):
        if time.monotonic() > deadline:
            missing = sum(event_id not in mailbox.arrived for event_id in placed)
            raise RuntimeError(f"{missing} of {len(placed)} confirmations not received within {DRAIN_TIMEOUT:.0f} s")
        time.sleep(0.1)
    return max(mailbox.arrived[event_id][0] for event_id in placed)


def mail_latencies(mailbox: Mailbox, placed: dict[str, float]) -> list[float]:
    return [(mailbox.arrived[event_id][0] - created) * 1000 for event_id, created in placed.items()]


def latency(mailbox: Mailbox, mode: str, base: str, carts: list[str]) -> tuple[float, str]:
    started = timezone.now()
    answered = drive(base, carts, LATENCY_CLIENTS)
    placed = placed_since(started)
    await_mail(mailbox, placed)
    values = mail_latencies(mailbox, placed)
    return answered["rate"], (
        f"  {mode:<6} {len(values)} orders: p50 {percentile(values, 0.5):7.1f} ms"
        f"  p99 {percentile(values, 0.99):7.1f} ms"
        f"  max {max(values):7.1f} ms   (checkout request p50 {answered['p50']:.0f} ms, {answered['others']} not 201)"
    )


def throughput_round(mailbox: Mailbox, mode: str, base: str, carts: list[str]) -> dict:
    started = timezone.now()
    result = drive(base, carts, CLIENTS, SECONDS)
    finished = time.time()
    placed = placed_since(started)
    last_mail = await_mail(mailbox, placed)
    values = mail_latencies(mailbox, placed)
    result.update(
        mode=mode,
        mail_p50=percentile(values, 0.5),
        mail_p99=percentile(values, 0.99),
        lag=max(0.0, last_mail - finished),
    )
    return result


def sent_by(database: str) -> dict[str, int]:
    """The message log's rows by status in ``database`` (the monolith's or the service's)."""
    import psycopg

    config = connections["default"].settings_dict
    with psycopg.connect(
        host=config["HOST"],
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"],
        dbname=database,
    ) as db:
        return dict(db.execute("SELECT status, count(*) FROM notifications_message GROUP BY status").fetchall())


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="commerce-bench-extraction-"))
    processes, mailbox, ok = Processes(scratch), Mailbox(SMTP_PORT), False
    prefix = os.environ["EVENTS_TOPOLOGY_PREFIX"]
    print(f"extraction bench: databases {DATABASE_NAME}(+_notifications_service), topology {prefix}", flush=True)
    try:
        mailbox.controller.start()
        began = time.monotonic()
        call_command("migrate_all", verbosity=0)
        subprocess.run(
            [sys.executable, "manage.py", "migrate_all", "--verbosity", "0"],
            cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "services.notifications.settings"}, check=True,
        )  # fmt: skip
        port.declare(["notifications"])
        print(f"  migrated in {time.monotonic() - began:.0f} s; making the shop and the carts", flush=True)
        spread, _, _ = setup_shop(f"EX{RUN}")
        skus = lambda n: [spread[i % len(spread)] for i in range(n)]  # noqa: E731
        latency_carts = {mode: carts_for(skus(ORDERS)) for mode in ("local", "remote")}
        connections.close_all()
        print(f"  starting both topologies ({time.monotonic() - began:.0f} s so far)", flush=True)
        bases = start_topologies(processes)
        run_started = timezone.now()
        for base in bases.values():
            for _ in range(WORKERS * 4):  # every worker has loaded the application before anything is timed
                request("GET", f"{base}/api/v1/products")
            drive(base, carts_for(skus(WORKERS * 2)), WORKERS)
        await_mail(mailbox, placed_since(run_started))

        print(f"End-to-end latency, OrderPlaced committed -> confirmation received by the SMTP server "
              f"({ORDERS} orders each, {LATENCY_CLIENTS} client(s) placing them):", flush=True)  # fmt: skip
        print("  local: embedded, inline dispatch, mail sent by the web worker after the checkout's commit")
        print(f"  remote: LIFTED=notifications, relay (idle pause {RELAY_IDLE} s) -> RabbitMQ (confirms) -> "
              "service consumer, mail sent by the service")  # fmt: skip
        sequential = 0.0
        for mode in ("local", "remote"):
            rate, line = latency(mailbox, mode, bases[mode], latency_carts[mode])
            sequential = max(sequential, rate / LATENCY_CLIENTS)
            print(line, flush=True)

        print(f"Checkout throughput: gunicorn WEB_CONCURRENCY={WORKERS} each, {CLIENTS} clients, "
              f"{SECONDS:.0f} s a round, rounds alternating:", flush=True)  # fmt: skip
        # Before each round the carts are topped up to half as much again as the fastest rate so far would
        # use (at least 20/s; at first each worker as fast as one client alone); left-overs carry over. A
        # round that uses them all up ends early, and says so.
        rounds, fastest, carts = [], sequential * WORKERS, []
        for number in range(ROUNDS):
            for mode in ("local", "remote"):
                carts += carts_for(skus(max(0, int(max(fastest, 20) * SECONDS * 1.5) + CLIENTS - len(carts))))
                connections.close_all()
                row = throughput_round(mailbox, mode, bases[mode], carts)
                rounds.append(row)
                fastest = max(fastest, row["rate"])
                print(
                    f"  {number + 1} {mode:<6} {row['checkouts']:5d} in {row['seconds']:5.1f} s:"
                    f" {row['rate']:6.2f} checkouts/s"
                    f"  request p50 {row['p50']:6.0f} p99 {row['p99']:6.0f} ms  mail p50 {row['mail_p50']:6.0f}"
                    f" p99 {row['mail_p99']:6.0f} ms, last mail {row['lag']:4.1f} s after the round"
                    + ("  (carts ran out)" if row["ran_out"] else "")
                    + (f"  {row['others']} not 201" if row["others"] else ""),
                    flush=True,
                )
        medians = {m: statistics.median(r["rate"] for r in rounds if r["mode"] == m) for m in ("local", "remote")}
        pairs = [b["rate"] / a["rate"] for a, b in zip(rounds[::2], rounds[1::2], strict=True)]
        print(
            f"  median local {medians['local']:.2f}/s, remote {medians['remote']:.2f}/s: remote/local "
            f"{medians['remote'] / medians['local']:.2f} (each pair: {', '.join(f'{p:.2f}' for p in pairs)};"
            " target >= 1.0)"
        )

        placed = placed_since(run_started)
        twice = sum(len(mailbox.arrived[e]) > 1 for e in placed)
        print(
            f"Mail: {len(placed)} orders, {sum(e in mailbox.arrived for e in placed)} confirmations received, {twice} "
            f"more than once; message log: monolith {sent_by(DATABASE_NAME)}, service {sent_by(SERVICE_DATABASE_NAME)}"
        )
        print(f"command: {shown_command()}")
        print("load: " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
        ok = twice == 0
    finally:
        processes.stop_all()
        mailbox.controller.stop()
        clean_up()
        if ok:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"logs kept in {scratch}", file=sys.stderr)
    return 0 if ok else 1


def clean_up() -> None:
    """The topology under this run's prefix and both databases of this run: nothing is left behind."""
    try:
        port.delete(["notifications"], prefix=os.environ["EVENTS_TOPOLOGY_PREFIX"])
    except Exception as error:  # still drop the databases
        print(f"could not delete the topology: {error}", file=sys.stderr)
    connections.close_all()
    with connections["default"]._nodb_cursor() as cursor:
        for name in (DATABASE_NAME, SERVICE_DATABASE_NAME):
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connections.close_all()


def shown_command() -> str:
    names = ("BENCH_ORDERS", "BENCH_LATENCY_CLIENTS", "BENCH_SECONDS", "BENCH_ROUNDS", "BENCH_CLIENTS", "BENCH_WORKERS",
             "BENCH_SKUS", "BENCH_RELAY_IDLE", "BENCH_PORT", "BENCH_DATABASE_URL")  # fmt: skip
    values = (ORDERS, LATENCY_CLIENTS, f"{SECONDS:g}", ROUNDS, CLIENTS, WORKERS, os.environ["BENCH_SKUS"], RELAY_IDLE,
              PORT, _BASE_URL)  # fmt: skip
    return (
        " ".join(f"{n}={shlex.quote(str(v))}" for n, v in zip(names, values, strict=True))
        + " .venv/bin/python bench/extraction.py"
    )


if __name__ == "__main__":
    sys.exit(main())
