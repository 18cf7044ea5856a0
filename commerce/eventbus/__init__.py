"""The event bus: the only way one context makes another react (DESIGN.md rules 4 and 5).

What a context uses, and all it may use::

    from commerce.eventbus import Deferred, Event, domain_event, publish, publish_many, subscriber, upcaster

``publish`` writes the event to the publisher's outbox in the current transaction; after commit it
is delivered at least once to every subscription, and each subscription applies it effectively once
(an inbox row in the subscriber's database, in the handler's own transaction); a context running
as a service of its own (``settings.LIFTED``) gets it through RabbitMQ instead (``remote``). ``upcaster`` lets an
event type change shape without stranding what is in flight (see ``commerce.eventbus.types``). A
handler raises ``Deferred`` when its event came before one it depends on: retried later, for days,
not counted as a failure (``delivery``). Delivered inline, a handler never runs while a customer waits:
what an HTTP request publishes is delivered once its response has been sent (``after_response``).

The modules stand in layers, each importing only those below it (``.importlinter``, contract
``kernel-layers``)::

    admin, management, tasks     interfaces: staff, commands, Celery
    publishing                   publish(), publish_many(): outbox rows, dispatch after commit
    dispatch                     inline or celery; sweep() and requeue() hand deliveries to it
    after_response               inline deliveries a request caused wait until its response is sent
    remote                       lifted contexts: the relay to RabbitMQ, the consumer, the topology
    delivery                     deliver_many(), failures, backoff, claim_due(), prune()
    subscriptions, models        who listens; the outbox, deliveries and inbox tables
    types                        events, their (de)serialization, versions and upcasters
"""

from commerce.eventbus.publishing import publish, publish_many
from commerce.eventbus.subscriptions import subscriber
from commerce.eventbus.types import Deferred, Event, EventError, domain_event, upcaster

__all__ = ["Deferred", "Event", "EventError", "domain_event", "publish", "publish_many", "subscriber", "upcaster"]
