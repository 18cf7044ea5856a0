"""Which contexts run in this process and which run as services of their own (DESIGN.md "Lifting a
context out"), read from the settings once for every part of the kernel that must know.

``settings.LIFTED`` names the lifted contexts. For each, the monolith owes the service every event
that context subscribes to (a ``relay:<context>`` delivery, sent through the broker by the relay),
and it delivers that context's own subscriptions in process only while the gateway still routes part
of its HTTP paths to the monolith (``<CONTEXT>_SHARE`` under 100, the "shadow": the monolith records,
so either deployable answers correctly, and the context's own settings keep it from acting).

Inside the service itself (``SERVED_BY`` names the context) that context is local, whatever
``LIFTED`` says: a service never relays to itself.
"""

from django.conf import settings


def is_remote(context: str) -> bool:
    """Whether ``context`` runs as a service elsewhere, fed through the broker."""
    return context in settings.LIFTED and context != settings.SERVED_BY


def share(context: str) -> int:
    """The percentage of ``context``'s HTTP paths the gateway sends to its service (100 unless set)."""
    return int(getattr(settings, f"{context.upper()}_SHARE", 100))


def delivered_in_process(context: str) -> bool:
    """Whether ``context``'s subscriptions are delivered in this process: always when it is not
    lifted; while it is lifted, only in the shadow (share under 100)."""
    return not is_remote(context) or share(context) < 100


def remote_contexts() -> tuple[str, ...]:
    """The lifted contexts this process relays to, in a stable order."""
    return tuple(sorted(context for context in settings.LIFTED if is_remote(context)))
