"""Work a request started that the customer need not wait for: run once the response has been sent.

``dispatch`` hands its inline deliveries here (``run_after_response``). Inside an HTTP request they
wait until the response is written to the client, so a checkout answers ``201`` before its
confirmation mail is rendered and sent and before the catalogue refreshes its listing; outside a
request (a management command, a Celery task, the shell, the sweep, a test calling a service) they
run right away, as before.

How: ``AfterResponseMiddleware`` gives each request a list of pending work in a context variable
and registers a closer on the response that runs it. Django calls ``HttpResponse.close()`` once the
server has written the whole body (gunicorn's sync and gthread workers, the development server, the
test client; under ASGI, ``commerce.asgi``, after the last body message and in the thread that ran
the view; a streaming response when the stream is exhausted). The closer runs before ``close()``
sends ``request_finished``, whose receiver ``close_old_connections`` closes the database connections
(``CONN_MAX_AGE=0``): the deferred work uses and leaves the request's connections exactly as the
request itself did. Django offers no public "after the response" hook; ``_resource_closers`` is
what Django itself (``FileResponse``, the request's uploaded files, ``staticfiles``) closes through,
the same list since Django 3.0.

Safety: what is deferred is only the *hand-over* of deliveries whose outbox and delivery rows were
committed with the publisher's transaction. If the process dies after the response and before the
deferred work ran (or a client disconnects under ASGI before the response was sent, when Django
never closes it), those deliveries stay pending and the sweep (``eventbus.sweep_outbox``) delivers
them once their grace period ``EVENTBUS["SWEEP_GRACE_SECONDS"]`` has passed: late, never lost.

A failure in deferred work never reaches the client (the response is gone) nor Django (which would
silently swallow it): it is logged here; a delivery's handler failure is recorded on the delivery
and retried, as it always is (``delivery.deliver_many`` keeps the books).

Observing the boundary (tests that count what the customer waits for): ``observe(callback)`` calls
``callback()`` each time a response has been sent, just before the work deferred by its request
runs (and also when nothing was deferred). Statements run before that call were in the request;
those after it, until the test client returns, were not::

    marks = []
    with CaptureQueriesContext(connection) as queries, after_response.observe(
        lambda: marks.append(len(queries.captured_queries))
    ):
        client.post(...)
    in_request, after = queries.captured_queries[: marks[0]], queries.captured_queries[marks[0] :]
"""

import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponseBase

logger = logging.getLogger(__name__)

Work = Callable[[], object]


class _Pending:
    """One request's deferred work; ``closed`` once its response is closed, after which work runs now."""

    __slots__ = ("__weakref__", "closed", "owed", "work")

    def __init__(self) -> None:
        self.work: list[Work] = []
        self.closed = False
        self.owed = False  # counted in ``_owed`` from its first work until it has run

    def add(self, work: Work) -> None:
        if not self.owed:
            self.owed = True
            with _idle:
                _waiting.add(self)  # weakly: a response dropped unclosed owes nothing any more
        self.work.append(work)

    def run(self) -> None:
        self.closed = True
        owed, self.owed = self.owed, False
        if owed:
            with _idle:
                _waiting.discard(self)
                _running[0] += 1
        token = _current.set(None)  # what the deferred work starts (a handler publishing) runs at once
        try:
            _notify_observers()
            while self.work:
                _run_logged(self.work.pop(0))
        finally:
            _current.reset(token)
            if owed:
                with _idle:
                    _running[0] -= 1
                    _idle.notify_all()


_current: ContextVar[_Pending | None] = ContextVar("commerce_after_response", default=None)
_observers: list[Callable[[], object]] = []
_observers_lock = threading.Lock()
# The requests of this process that owe deferred work whose response is not closed yet (held weakly), and
# how many are running theirs (their responses may already be with their clients): ``wait_until_idle``
# waits for neither, e.g. before a test empties the tables it works on.
_waiting: "weakref.WeakSet[_Pending]" = weakref.WeakSet()
_running = [0]
_idle = threading.Condition()


def run_after_response(work: Work) -> None:
    """Run ``work`` once the current request's response has been sent, or now if no request is being
    served (or its response is already closed). Whatever it raises is logged, never propagated when
    deferred; run now, it propagates as any call would."""
    pending = _current.get()
    if pending is None or pending.closed:
        work()
    else:
        pending.add(work)


def wait_until_idle(timeout: float, *, closing: float = 0.2) -> bool:
    """Wait until no request of this process is running deferred work (a client may hold its response
    while the server still delivers what the request published); False if one still is after ``timeout``.

    A response sent but not closed yet (its server is a moment behind its client) is waited for up to
    ``closing`` seconds to start its work; one never closed (dropped, or kept open on purpose) is not."""
    with _idle:
        _idle.wait_for(lambda: not _waiting, timeout=closing)
        return _idle.wait_for(lambda: _running[0] == 0, timeout=timeout)


def in_request() -> bool:
    """Whether work handed to ``run_after_response`` now would wait for a response to be sent."""
    pending = _current.get()
    return pending is not None and not pending.closed


@contextmanager
def observe(callback: Callable[[], object]) -> Iterator[None]:
    """Call ``callback()`` whenever a response has been sent, before the work its request deferred
    runs (in whatever thread closes the response). For tests: see the module's docstring."""
    with _observers_lock:
        _observers.append(callback)
    try:
        yield
    finally:
        with _observers_lock:
            _observers.remove(callback)


def _notify_observers() -> None:
    with _observers_lock:
        observers = list(_observers)
    for callback in observers:
        _run_logged(callback)


def _run_logged(work: Work) -> None:
    try:
        work()
    except Exception:
        logger.exception("Work deferred until after the response failed: %r", work)


class AfterResponseMiddleware:
    """Defer what ``run_after_response`` is given while serving a request until its response is sent.

    Near the top of ``MIDDLEWARE``, so whatever a request does anywhere in the chain is covered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        pending = _Pending()
        token = _current.set(pending)
        try:
            response = self.get_response(request)
        except Exception:
            pending.run()  # no response to wait for (Django turns errors into responses, so rarely)
            raise
        finally:
            _current.reset(token)
        response._resource_closers.append(pending.run)
        return response
