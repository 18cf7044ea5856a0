"""The event bus: the only way one context makes another react (DESIGN.md rules 4 and 5).

What a context uses, and all it may use::

    from commerce.eventbus import Event, domain_event, publish, publish_many, subscriber

``publish`` writes the event to the publisher's outbox in the current transaction; after commit it
is delivered at least once to every subscription, and each subscription applies it effectively once
(an inbox row in the subscriber's database, in the handler's own transaction).
"""

from commerce.eventbus.publishing import publish, publish_many
from commerce.eventbus.subscriptions import subscriber
from commerce.eventbus.types import Event, EventError, domain_event

__all__ = ["Event", "EventError", "domain_event", "publish", "publish_many", "subscriber"]
