"""How deliveries reach their handlers, chosen by ``EVENTBUS["DISPATCH"]``.

``inline`` delivers in this process right away (after commit, the embedded default); ``celery``
queues one task per delivery for a worker. Either way nothing raised here reaches the publisher:
a delivery that could not even be queued is picked up by the sweep after its grace period.
"""

import logging
from collections.abc import Sequence

from django.conf import settings

logger = logging.getLogger(__name__)


def dispatch(alias: str, delivery_ids: Sequence[int]) -> None:
    if settings.EVENTBUS["DISPATCH"] == "celery":
        _queue(alias, delivery_ids)
    else:
        _deliver_inline(alias, delivery_ids)


def _deliver_inline(alias: str, delivery_ids: Sequence[int]) -> None:
    from commerce.eventbus.delivery import deliver_many

    try:
        deliver_many(alias, delivery_ids)
    except Exception:  # bookkeeping failed (database gone): the sweep retries later
        logger.exception("Inline delivery of %d deliveries on %s could not be recorded", len(delivery_ids), alias)


def _queue(alias: str, delivery_ids: Sequence[int]) -> None:
    from commerce.eventbus.delivery import BATCH_SIZE
    from commerce.eventbus.tasks import deliver_events

    for start in range(0, len(delivery_ids), BATCH_SIZE):
        chunk = list(delivery_ids[start : start + BATCH_SIZE])
        try:
            deliver_events.apply_async(args=(alias, chunk), retry=False)
        except Exception:
            logger.exception("Could not queue %d deliveries on %s; the sweep will", len(chunk), alias)
            return
