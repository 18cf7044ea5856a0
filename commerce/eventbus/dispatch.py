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
    from commerce.eventbus.delivery import deliver

    for delivery_id in delivery_ids:
        try:
            deliver(alias, delivery_id)
        except Exception:  # bookkeeping failed (database gone): the sweep retries later
            logger.exception("Inline delivery %s on %s could not be recorded", delivery_id, alias)


def _queue(alias: str, delivery_ids: Sequence[int]) -> None:
    from commerce.eventbus.tasks import deliver_event

    for delivery_id in delivery_ids:
        try:
            deliver_event.apply_async(args=(alias, delivery_id), retry=False)
        except Exception:
            logger.exception("Could not queue delivery %s on %s; the sweep will", delivery_id, alias)
            return
