"""Who caused what: the ids that tie a customer's request to every event and log line it causes.

``request_id`` is the id of the HTTP request being served; ``correlation_id`` the request (or job)
that started the whole chain; ``causation_id`` the request or event that directly caused the work at
hand. Context variables, so they follow threads and Celery tasks without being passed by hand.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")
causation_id: ContextVar[str] = ContextVar("causation_id", default="")


def current_correlation_id() -> str:
    return correlation_id.get()


def current_causation_id() -> str:
    return causation_id.get() or request_id.get()


@contextmanager
def bound(*, correlation: str, causation: str) -> Iterator[None]:
    """Run a block (an event handler) as part of the chain ``correlation``, directly caused by ``causation``."""
    tokens = [(correlation_id, correlation_id.set(correlation)), (causation_id, causation_id.set(causation))]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def begin_request(request: str) -> None:
    """Bind a request's id for the rest of its handling, Django's own response logging included;
    ``end_request`` (on ``request_finished``) clears it."""
    request_id.set(request)
    correlation_id.set(request)
    causation_id.set(request)


def end_request() -> None:
    request_id.set("")
    correlation_id.set("")
    causation_id.set("")
