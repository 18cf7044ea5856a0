"""The shop's own Prometheus metrics, and the helpers the contexts call to record them.

Requests and database calls are measured by ``django-prometheus`` (middleware and database
backends); what only the shop knows is declared here, once, so every process registers the same
series. A context records an outcome with one call, never touching ``prometheus_client`` itself::

    from commerce import metrics

    metrics.checkout_finished("placed")             # or ("refused" | "failed", reason=<error code>)
    with metrics.saga_step("reserve_stock"):        # times the step; the outcome label says if it raised
        ...
    metrics.reservation_made("ok")                  # or "insufficient_stock", "expired", "released", …
    metrics.cart_operation("add_line")
    with metrics.checkout_answered() as answer:     # times a checkout request, ``error`` unless told
        ...
        answer.result = "placed"                    # or "refused" (the customer's own answer)

Several gunicorn workers (and Celery processes) each count in their own files under
``PROMETHEUS_MULTIPROC_DIR``; ``/metrics`` (``commerce.monitoring``) adds them up, and a worker
that died is marked so its live gauges disappear while its counts stay in the totals. The directory
is cleared of an earlier run's files when the server starts (``prepare_multiprocess_directory``, from
gunicorn's ``on_starting``).

Labels take a handful of known values (outcomes, step names), never ids or free text: each value
is a time series.
"""

import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from prometheus_client import Counter, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
logger = logging.getLogger(__name__)

# --- Event bus -----------------------------------------------------------------------------------
DELIVERIES = Counter(
    "commerce_eventbus_deliveries",
    "Event deliveries attempted, by database and outcome (delivered, failed: will retry, dead: dead-lettered).",
    ["database", "outcome"],
)
EVENT_AGE_SECONDS = Histogram(
    "commerce_eventbus_event_age_seconds",
    "Age of an event (since it occurred) when it reached its subscriber, by path: in_process (a handler "
    "of this deployable applied it), relay (the relay handed it to the broker, acked), consumer (a lifted "
    "service's consumer applied it).",
    ["path"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0),
)
EVENT_PATHS = frozenset({"in_process", "relay", "consumer"})

# --- Checkout, cart, inventory (recorded by the contexts through the helpers below) ---------------
CHECKOUTS = Counter(
    "commerce_checkouts",
    "Checkouts finished, by outcome (placed; refused before an order existed; failed: the order ended failed) "
    "and reason (the error code; empty when placed).",
    ["outcome", "reason"],
)
SAGA_STEP_SECONDS = Histogram(
    "commerce_checkout_saga_step_seconds",
    "Duration of each checkout saga step, by step and outcome (ok or the error's code).",
    ["step", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CHECKOUT_SECONDS = Histogram(
    "commerce_checkout_seconds",
    "Checkout requests from their start to their answer, by result: placed; refused (the customer's own: "
    "a declined card, an empty cart, stock sold out, an invalid request); error (the shop's: the payment "
    "provider failed, the checkout was interrupted, a crash). The checkout objective (docs/slo.md).",
    ["result"],
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0),
)
CHECKOUT_RESULTS = frozenset({"placed", "refused", "error"})
RESERVATIONS = Counter("commerce_inventory_reservations", "Stock reservations, by outcome.", ["outcome"])
CART_OPERATIONS = Counter("commerce_cart_operations", "Cart operations, by operation.", ["operation"])
ORDER_RECOVERIES = Counter(
    "commerce_orders_recoveries",
    "Interrupted after-sale operations (cancel, ship, receive a return) the recovery job ran again, by outcome.",
    ["outcome"],
)

# --- Notifications ---------------------------------------------------------------------------------
NOTIFICATION_SECONDS = Histogram(
    "commerce_notification_latency_seconds",
    "From the event a mail is about (an order placed, shipped, …) to the mail server accepting the mail, "
    "by kind (the notification kinds: a handful).",
    ["kind"],
    buckets=(1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0),
)


def delivery_outcomes(database: str, outcomes: Iterable[str]) -> None:
    """Count the outcomes of one delivery batch (``delivered``, ``failed``, ``dead``)."""
    for outcome in outcomes:
        if outcome in {"delivered", "failed", "dead"}:
            DELIVERIES.labels(database=database, outcome=outcome).inc()


def events_reached(path: str, occurred: Iterable[datetime]) -> None:
    """Events reached their subscriber by ``path`` (``in_process``, ``relay``, ``consumer``): observe
    each one's age, from when it occurred until now."""
    if path not in EVENT_PATHS:
        raise ValueError(f"unknown event path {path!r}")
    now = time.time()
    for moment in occurred:
        EVENT_AGE_SECONDS.labels(path=path).observe(max(now - moment.timestamp(), 0.0))


def notification_sent(kind: str, since: datetime) -> None:
    """A mail was accepted by the mail server; ``since`` is when what it tells of happened."""
    NOTIFICATION_SECONDS.labels(kind=kind).observe(max(time.time() - since.timestamp(), 0.0))


class CheckoutAnswer:
    """What one checkout request answered: ``error`` until its caller says otherwise."""

    def __init__(self) -> None:
        self.result = "error"


@contextmanager
def checkout_answered() -> Iterator[CheckoutAnswer]:
    """Time one checkout request, from its start to its answer; the caller sets ``answer.result``
    (``placed``; ``refused``: the customer's own answer; ``error``: the shop's) once it has the answer.

    ``error`` until then, and whenever an exception leaves the block: gunicorn's worker timeout ends a request with ``SystemExit`` (a BaseException,
    which no ``except Exception`` sees), and a crash leaves before any answer; that customer got no order."""
    started = time.perf_counter()
    answer = CheckoutAnswer()
    try:
        yield answer
    except BaseException:  # no answer left: whatever was classified before, the shop failed it
        answer.result = "error"
        raise
    finally:
        result = answer.result if answer.result in CHECKOUT_RESULTS else "error"
        CHECKOUT_SECONDS.labels(result=result).observe(time.perf_counter() - started)


def checkout_finished(outcome: str, *, reason: str = "") -> None:
    """A checkout ended: ``placed``; ``refused`` before any order existed, or ``failed`` (the order ended
    failed), each with the error code as ``reason`` (``cart_empty``, ``payment_declined``, …)."""
    CHECKOUTS.labels(outcome=outcome, reason=reason).inc()


def reservation_made(outcome: str) -> None:
    """A reservation was made (``ok``) or refused (``insufficient_stock``), or ended: ``committed``,
    ``released``, ``expired``."""
    RESERVATIONS.labels(outcome=outcome).inc()


def cart_operation(operation: str) -> None:
    """A cart changed: ``create``, ``add_line``, ``set_line_quantity``, ``remove_line``, ``add_voucher``,
    ``remove_voucher``, ``set_delivery``, ``assign``, ``close``."""
    CART_OPERATIONS.labels(operation=operation).inc()


def order_operation_recovered(outcome: str) -> None:
    """The recovery job ran an interrupted cancel, shipment or return receipt again: ``finished`` or
    ``failed`` (logged with the order's id, tried again on the next run)."""
    ORDER_RECOVERIES.labels(outcome=outcome).inc()


@contextmanager
def saga_step(step: str) -> Iterator[None]:
    """Time one checkout saga step; an exception is recorded with its ``code`` (or class name) and re-raised."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except Exception as error:
        outcome = getattr(error, "code", None) or type(error).__name__
        raise
    finally:
        SAGA_STEP_SECONDS.labels(step=step, outcome=outcome).observe(time.perf_counter() - started)


# --- Several processes ----------------------------------------------------------------------------
def multiprocess_directory() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def prepare_multiprocess_directory() -> None:
    """Create the directory and remove what processes of an earlier run left there.

    Called by gunicorn's master before it forks (``on_starting``). Files of processes still alive
    (a Celery worker the run command started first) are kept; a file whose process is gone is an
    earlier run's, since no worker of this run has started yet.
    """
    directory = multiprocess_directory()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_process_dead(pid: int) -> None:
    """A worker exited: drop its live gauges; its counters stay in the totals."""
    if multiprocess_directory() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def _export_every_checkout_result() -> None:
    """Every checkout result's series, at 0 until counted: the checkout objective divides the errors by
    every answer, and a series born at the first error would leave a week without one with no budget
    line (docs/slo.md). Made by the process answering the scrape, not at import: with
    ``PROMETHEUS_MULTIPROC_DIR`` that writes a file, and gunicorn's master imports this module before
    it creates the directory."""
    for result in sorted(CHECKOUT_RESULTS):
        CHECKOUT_SECONDS.labels(result=result)


def registry():
    """This process's series, or with ``PROMETHEUS_MULTIPROC_DIR`` those of every process counting there."""
    from prometheus_client import REGISTRY, CollectorRegistry

    _export_every_checkout_result()
    registry = CollectorRegistry()
    if multiprocess_directory() is None:
        for collector in list(REGISTRY._collector_to_names):
            registry.register(collector)
    else:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    return registry


def bearer_matches(header: str, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    import hmac

    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def serve_process_metrics(port: int | None = None):
    """``/metrics`` on ``METRICS_PORT`` for a process that serves no HTTP: the Celery worker, the relay, a
    lifted service's consumer. They count the events and mails the objectives read (docs/slo.md), in
    their own ``PROMETHEUS_MULTIPROC_DIR`` in a container of their own, where no web ``/metrics`` sees them.

    The same rule as the web's (``commerce.monitoring``): with ``METRICS_TOKEN``, only ``Authorization:
    Bearer <token>``, on every interface; without it, loopback only, and not at all in production. No
    outbox gauges: the web reports those. Returns the server (its thread is a daemon), or None when
    ``METRICS_PORT`` is unset or it is off.
    """
    port = port if port is not None else int(os.environ.get("METRICS_PORT") or 0)
    if not port:
        return None
    from django.conf import settings

    token = os.environ.get("METRICS_TOKEN", "")
    if not token and settings.PRODUCTION:
        logger.warning("METRICS_PORT is set without METRICS_TOKEN: this process's /metrics stays off in production")
        return None
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    def app(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not found.\n"]
        if token and not bearer_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response(
                "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')]
            )
            return [b"GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.\n"]
        body = generate_latest(registry())
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:  # a scrape every 30 s is no news
            pass

    server = make_server("0.0.0.0" if token else "127.0.0.1", port, app, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("Serving this process's /metrics on port %s", server.server_port)
    return server
