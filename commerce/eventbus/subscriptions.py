"""Subscriptions: which handler of which context reacts to which event.

Handlers are declared with ``@subscriber(EventType)`` in a context's ``handlers.py``, which its
AppConfig imports at start-up. Each subscription has a stable name (``context.handler_name``): it is
the key of the inbox, so renaming a handler is a schema change.

One function may react to several events by stacking ``@subscriber``, but each subscription needs
its own name then (``name=``): two subscriptions can never share an inbox key, and a name already
taken by another subscription is refused at import time rather than silently replacing it.

A context that runs as a service of its own (``commerce.topology``) is owed its events through the
broker: one delivery per event named ``relay:<context>``, which no handler in this process takes;
the relay (``commerce.eventbus.remote``) sends it, and the service's consumer applies it to that
context's own subscriptions there.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from commerce.eventbus.types import Event, EventError

Handler = Callable[[Any], None]

RELAY_PREFIX = "relay:"


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str
    event_name: str
    context: str
    handler: Handler
    batch: bool = False
    # Delivered in this process even once its context is lifted: it keeps this process's own copy of
    # the context's data right (erasing a closed account's messages the monolith recorded before).
    even_when_lifted: bool = False


_SUBSCRIPTIONS: dict[str, Subscription] = {}


def _context_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "contexts":
        return parts[1]
    raise EventError(f"Cannot tell which context {module} belongs to; pass context= explicitly.")


def subscriber(
    event_type: type[Event],
    *,
    name: str | None = None,
    context: str | None = None,
    batch: bool = False,
    even_when_lifted: bool = False,
) -> Callable[[Handler], Handler]:
    """Subscribe the decorated function to ``event_type``; its first parameter is the typed event.

    ``batch=True``: the handler takes a tuple of events instead, so a burst (an import, a flash
    sale) is applied in one call. It must give the same result as applying them one at a time;
    should it fail, the bus falls back to calling it with one event at a time.

    ``even_when_lifted=True``: delivered in this process also once the context runs as a service
    (``commerce.topology``), for a handler that cleans up what this process itself still holds of
    the context (its records from before the move); the service is owed the event as well.
    """
    if not event_type.event_name:
        raise EventError(f"{event_type.__qualname__} is not a registered event type.")

    def register(handler: Handler) -> Handler:
        owner = context or _context_of(handler.__module__)
        subscription_name = name or f"{owner}.{handler.__name__}"
        existing = _SUBSCRIPTIONS.get(subscription_name)
        if existing is not None and (
            existing.handler.__qualname__ != handler.__qualname__
            or existing.handler.__module__ != handler.__module__
            or existing.event_name != event_type.event_name
        ):
            raise EventError(
                f"Subscription name {subscription_name!r} is already taken by {existing.handler.__qualname__} "
                f"for {existing.event_name}; give each @subscriber of {handler.__qualname__} its own name=."
            )
        _SUBSCRIPTIONS[subscription_name] = Subscription(
            name=subscription_name,
            event_name=event_type.event_name,
            context=owner,
            handler=handler,
            batch=batch,
            even_when_lifted=even_when_lifted,
        )
        return handler

    return register


def subscriptions_for(event_name: str) -> tuple[Subscription, ...]:
    return tuple(s for s in _SUBSCRIPTIONS.values() if s.event_name == event_name)


def subscription(name: str) -> Subscription | None:
    return _SUBSCRIPTIONS.get(name)


def relay_subscription(context: str) -> str:
    """The name of the delivery that owes ``context``'s service an event through the broker."""
    return f"{RELAY_PREFIX}{context}"


def is_relayed(name: str) -> bool:
    """Whether the delivery named ``name`` is the relay's to send (never a handler's in this process)."""
    return name.startswith(RELAY_PREFIX)


def relayed_context(name: str) -> str:
    return name.removeprefix(RELAY_PREFIX)


def subscriptions_of(context: str, event_name: str | None = None) -> tuple[Subscription, ...]:
    """``context``'s subscriptions (to ``event_name`` only, when given)."""
    return tuple(
        s
        for s in _SUBSCRIPTIONS.values()
        if s.context == context and (event_name is None or s.event_name == event_name)
    )


def event_names_of(context: str) -> tuple[str, ...]:
    """The event types ``context`` subscribes to, sorted: what its queue is bound to."""
    return tuple(sorted({s.event_name for s in subscriptions_of(context)}))
