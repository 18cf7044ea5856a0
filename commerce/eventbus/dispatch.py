"""How deliveries reach their handlers, chosen by ``EVENTBUS["DISPATCH"]``.

``inline`` delivers in this process (the embedded default): right after commit, or, when the
commit happened while serving an HTTP request, once the response has been sent to the client
(``after_response``), so the customer never waits for a subscriber (a confirmation mail, a listing
refresh). ``celery`` queues one task per delivery for a worker, and no handler runs in the web
process at all. Either way nothing raised here reaches the publisher: a delivery that could not be
queued, or whose deferred delivery never ran (the process died after the response), is picked up
by the sweep after its grace period, ``EVENTBUS["SWEEP_GRACE_SECONDS"]``.

``sweep`` and ``requeue`` live here, above ``delivery`` (which keeps the books) and below ``tasks``
(which queues by the task's name, so no module of the bus imports one above it). ``delivery`` is
imported inside the functions only because ``publishing`` imports this module while Django's apps
load, before models can be.
"""

import logging
from collections.abc import Iterable, Sequence

from django.conf import settings

from commerce.eventbus.after_response import run_after_response

logger = logging.getLogger(__name__)

DELIVER_TASK = "eventbus.deliver_events"


def dispatch(alias: str, delivery_ids: Sequence[int]) -> None:
    if settings.EVENTBUS["DISPATCH"] == "celery":
        _queue(alias, delivery_ids)
    else:
        # In a request, after its response is sent; elsewhere (a command, a task, the sweep) now.
        run_after_response(lambda: _deliver_inline(alias, delivery_ids))


def _deliver_inline(alias: str, delivery_ids: Sequence[int]) -> None:
    from commerce.eventbus.delivery import deliver_many

    try:
        deliver_many(alias, delivery_ids)
    except Exception:  # bookkeeping failed (database gone): the sweep retries later
        logger.exception("Inline delivery of %d deliveries on %s could not be recorded", len(delivery_ids), alias)


def _queue(alias: str, delivery_ids: Sequence[int]) -> None:
    from commerce.celery import app  # ours, configured from settings; Celery is loaded only to queue
    from commerce.eventbus.delivery import BATCH_SIZE

    for start in range(0, len(delivery_ids), BATCH_SIZE):
        chunk = list(delivery_ids[start : start + BATCH_SIZE])
        try:
            app.send_task(DELIVER_TASK, args=(alias, chunk), retry=False)
        except Exception:
            logger.exception("Could not queue %d deliveries on %s; the sweep will", len(chunk), alias)
            return


def sweep(*, limit: int = 500) -> int:
    """Hand every due delivery of every database to the dispatcher; returns how many."""
    from commerce.database import context_aliases
    from commerce.eventbus.delivery import claim_due

    total = 0
    for alias in context_aliases():
        ids = claim_due(alias, limit=limit)
        if ids:
            dispatch(alias, ids)
            total += len(ids)
    return total


def requeue(alias: str, delivery_ids: Iterable[int]) -> int:
    """Give failed or dead deliveries a fresh set of attempts and dispatch them now; how many."""
    from commerce.eventbus.delivery import reset_for_retry

    ids = reset_for_retry(alias, delivery_ids)
    if ids:
        dispatch(alias, ids)
    return len(ids)
