"""Events as types: frozen dataclasses with a stable name and a schema version.

An event serializes to plain JSON guided by its field annotations, so ``Decimal``, ``UUID``,
``datetime``, ``date``, tuples and nested dataclasses come back exactly as they were published.
``publish`` checks that round trip up front, so a bad event fails in the publisher's code, not in a
worker hours later.

Evolving an event without stranding what is in flight (DESIGN.md rule 6). A stored payload is read
back with the version it was written in, which may be older than the code's:

- **Adding a field**: give it a default. A payload written before the field existed is rebuilt with
  the default; no version bump or upcaster is needed.
- **Anything else** (renaming, splitting, changing a field's meaning or type, adding a required
  field): raise the type's version, ``@domain_event("orders.OrderPlaced", version=2)``, and register
  an upcaster from the previous version, a pure function from the old payload to the new one::

      @upcaster(OrderPlaced, from_version=1)
      def order_placed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
          return {**payload, "total": {"amount": payload.pop("total_amount"), "currency": "EUR"}}

  Reading a version-N payload runs the upcasters N→N+1→…→current in turn; a step without an
  upcaster passes the payload on unchanged (the defaults fill what is new).
- **Never**: remove an upcaster while payloads of its version can still be in an outbox (see
  ``EVENTBUS_RETENTION_DAYS``), or reuse an event name for another meaning.

A payload that still does not fit (an unknown field, a required field missing, a version newer than
the running code) is refused with an ``EventError`` naming the problem: the delivery fails, retries
and dead-letters with that message, and once the code that reads it is deployed, the admin action
``retry_deliveries`` delivers it.
"""

import dataclasses
import enum
import functools
import json
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from django.utils import timezone

from commerce import correlation


class EventError(Exception):
    """An event type is unknown, malformed or does not serialize."""


class Deferred(Exception):
    """Raised by a handler: this event came before one it depends on (from another outbox, on its way);
    try it again later. Not a failure of the handler: the bus retries it with its backoff without
    counting the attempt toward ``MAX_ATTEMPTS``, for up to ``EVENTBUS["DEFER_FOR_SECONDS"]``, and only
    then dead-letters it, saying how long it waited and for what (the exception's text). The lifted
    consumer parks it in the context's wait queue meanwhile, so it never blocks the prefetch window."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every domain event. Subclasses are frozen, slotted, keyword-only dataclasses."""

    event_id: UUID = dataclasses.field(default_factory=uuid4)
    occurred_at: datetime = dataclasses.field(default_factory=timezone.now)
    correlation_id: str = dataclasses.field(default_factory=correlation.current_correlation_id)
    causation_id: str = dataclasses.field(default_factory=correlation.current_causation_id)

    event_name: ClassVar[str] = ""
    event_version: ClassVar[int] = 1
    # Fields that carry a secret (a password-reset link): never shown to staff, and blanked in the
    # stored payload once every subscription has it (``commerce.eventbus.delivery.forget_secrets``).
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    # The field naming the aggregate (an order's ``order_id``) whose events must reach a remote
    # subscriber in the order they happened; "" puts every event of the type in one ordered stream.
    event_aggregate: ClassVar[str] = ""

    @property
    def context(self) -> str:
        """The context that publishes this event: the first part of its name."""
        return self.event_name.split(".", 1)[0]


_REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
U = TypeVar("U", bound=Upcaster)
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}
_ENVELOPE = frozenset(("event_id", "occurred_at", "correlation_id", "causation_id"))


def domain_event(name: str, *, version: int = 1, secret: tuple[str, ...] = (), aggregate: str = "") -> Callable[[E], E]:
    """Register an event type under a stable ``context.PastTenseName`` name.

    Apply it above ``@dataclass(frozen=True, slots=True, kw_only=True)``. ``secret`` names the
    top-level ``str`` fields that are secrets (a reset link): staff never see them (``redacted``),
    and they are blanked in the outbox once delivered everywhere. A reader of a pruned payload gets ``""``.
    ``aggregate`` names the field that identifies the thing the event happened to
    (``aggregate="order_id"``): the relay keeps the events of one aggregate in order and sends different
    aggregates' independently. Without it, every event of the publisher's outbox bound for one service
    goes in a single ordered stream (safe, and still sent in batches).
    """
    if name.count(".") != 1 or not all(name.split(".")):
        raise EventError(f"Event name {name!r} must look like 'context.EventName'.")

    def register(cls: E) -> E:
        if not (dataclasses.is_dataclass(cls) and issubclass(cls, Event)):
            raise EventError(f"{cls.__name__} must be a dataclass deriving from Event.")
        if not cls.__dataclass_params__.frozen:
            raise EventError(f"{cls.__name__} must be frozen.")
        existing = _REGISTRY.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise EventError(f"Event name {name!r} is already taken by {existing.__qualname__}.")
        unknown = set(secret) - {f.name for f in dataclasses.fields(cls)} or set(secret) & _ENVELOPE
        if unknown:
            raise EventError(f"{cls.__name__} has no secret-capable field {', '.join(sorted(unknown))}.")
        if aggregate and aggregate not in {f.name for f in dataclasses.fields(cls)}:
            raise EventError(f"{cls.__name__} has no field {aggregate!r} to name its aggregate.")
        cls.event_name = name
        cls.event_version = version
        cls.secret_fields = frozenset(secret)
        cls.event_aggregate = aggregate
        _REGISTRY[name] = cls
        return cls

    return register


def upcaster(event: type[Event], *, from_version: int) -> Callable[[U], U]:
    """Register the function that lifts a stored payload of ``event`` from ``from_version`` to the next.

    The function takes the payload as stored (a JSON-ready dict) and returns the next version's.
    """
    name = event.event_name
    if not name or _REGISTRY.get(name) is not event:
        raise EventError(f"{event.__qualname__} is not a registered event type (use @domain_event first).")
    if not 1 <= from_version < event.event_version:
        raise EventError(
            f"{name} is at version {event.event_version}: an upcaster lifts a version from 1 to "
            f"{event.event_version - 1} to the next, not {from_version}."
        )

    def register(function: U) -> U:
        existing = _UPCASTERS.get((name, from_version))
        if existing is not None and existing.__qualname__ != function.__qualname__:
            raise EventError(f"{name} already has an upcaster from version {from_version}: {existing.__qualname__}.")
        _UPCASTERS[(name, from_version)] = function
        return function

    return register


def event_type(name: str) -> type[Event]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise EventError(f"Unknown event type {name!r}.") from None


def registered_event_types() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


REDACTED = "[secret]"


def secret_fields_of(name: str) -> frozenset[str]:
    """The secret fields of the event type stored as ``name`` (none for an unknown type)."""
    cls = _REGISTRY.get(name)
    return cls.secret_fields if cls is not None else frozenset()


def redacted(name: str, payload: object) -> object:
    """``payload`` as staff may see it: each secret field's value replaced (an empty one stays empty)."""
    secrets = secret_fields_of(name)
    if not secrets or not isinstance(payload, dict):
        return payload
    return {key: (REDACTED if key in secrets and value else value) for key, value in payload.items()}


def without_secrets(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with its secret fields blanked: what the outbox keeps once nobody needs them."""
    secrets = secret_fields_of(name)
    return {key: ("" if key in secrets else value) for key, value in payload.items()}


# --- Serialization -------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A JSON-ready copy of ``value``; refuses what it cannot bring back exactly."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise EventError("Naive datetimes cannot be published; use timezone-aware ones.")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: encode(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, tuple | list | frozenset):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise EventError("Only string keys can be published in a mapping.")
        return {key: encode(item) for key, item in value.items()}
    raise EventError(f"Values of type {type(value).__name__} cannot be published.")


def decode(value: Any, annotation: Any) -> Any:
    """Rebuild a value of type ``annotation`` from what ``encode`` produced."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return decode(value, options[0]) if len(options) == 1 else value
    if annotation is Any:
        return value
    if value is None:
        return None
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(item, args[0]) for item in value)
        return tuple(decode(item, arg) for item, arg in zip(value, args, strict=True))
    if origin in (list, frozenset):
        (arg,) = typing.get_args(annotation)
        return origin(decode(item, arg) for item in value)
    if origin is dict:
        _, arg = typing.get_args(annotation)
        return {key: decode(item, arg) for key, item in value.items()}
    if annotation is Decimal:
        return Decimal(value)
    if annotation is UUID:
        return UUID(value)
    if annotation is datetime:
        return datetime.fromisoformat(value)
    if annotation is date:
        return date.fromisoformat(value)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(value)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _decode_dataclass(value, annotation)
    return value


def _decode_dataclass(value: Any, cls: type) -> Any:
    """Rebuild a dataclass: a missing field takes its default, an unknown or missing required one is refused."""
    if not isinstance(value, dict):
        raise EventError(f"{cls.__qualname__} must be stored as an object, not {type(value).__name__}.")
    fields = _init_fields(cls)
    unknown = sorted(set(value) - {name for name, _, _ in fields} - _derived_fields(cls))
    if unknown:
        raise EventError(
            f"{cls.__qualname__} has no field {', '.join(unknown)}: it needs an upcaster or a newer release."
        )
    missing = [name for name, _, required in fields if required and name not in value]
    if missing:
        raise EventError(f"{cls.__qualname__} is missing the required field {', '.join(missing)}.")
    return cls(**{name: decode(value[name], hint) for name, hint, _ in fields if name in value})


@functools.cache
def _init_fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """``(name, type, required)`` of each constructor field. The envelope (``event_id`` …) is always
    required: a default would make a new identity up for an event read back."""
    hints = typing.get_type_hints(cls)
    envelope = _ENVELOPE if issubclass(cls, Event) else frozenset()
    return tuple(
        (
            f.name,
            hints[f.name],
            f.name in envelope or (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING),
        )
        for f in dataclasses.fields(cls)
        if f.init
    )


@functools.cache
def _derived_fields(cls: type) -> frozenset[str]:
    """Fields computed by the dataclass itself (``init=False``): stored, and ignored when read back."""
    return frozenset(f.name for f in dataclasses.fields(cls) if not f.init)


def partition_key(event: Event) -> str:
    """The key of the ordered stream ``event`` travels in to a remote subscriber: its aggregate's id,
    or "" (one stream) when its type names no aggregate."""
    field = type(event).event_aggregate
    if not field:
        return ""
    return f"{field}:{encode(getattr(event, field))}"[:200]


def to_payload(event: Event) -> dict[str, Any]:
    """Serialize ``event`` and prove it round-trips exactly; raises ``EventError`` otherwise."""
    if not type(event).event_name or _REGISTRY.get(type(event).event_name) is not type(event):
        raise EventError(f"{type(event).__qualname__} is not a registered event type (use @domain_event).")
    try:
        payload = encode(event)
        json.dumps(payload)
        rebuilt = from_payload(type(event).event_name, payload)
    except EventError:
        raise
    except Exception as exc:
        raise EventError(f"{type(event).__qualname__} does not serialize: {exc}") from exc
    if rebuilt != event:
        raise EventError(f"{type(event).__qualname__} does not round-trip through JSON exactly.")
    return payload


def from_payload(name: str, payload: dict[str, Any], *, version: int | None = None) -> Event:
    """Rebuild the event stored as ``payload`` in schema ``version`` (the current one when omitted),
    upcasting it step by step to the current version first.

    :raises EventError: the type is unknown, the version is newer than this code's, or the payload
        does not fit the type (an unknown field, a required field missing, a wrong shape).
    """
    cls = event_type(name)
    stored = cls.event_version if version is None else version
    if stored > cls.event_version:
        raise EventError(
            f"{name} was stored at version {stored}, newer than this code's version {cls.event_version}: "
            "deploy the newer release to deliver it."
        )
    if stored < 1:
        raise EventError(f"{name} has no version {stored}.")
    for step in range(stored, cls.event_version):
        lift = _UPCASTERS.get((name, step))
        if lift is not None:
            try:
                payload = lift(dict(payload))
            except Exception as exc:
                raise EventError(f"Upcasting {name} from version {step} failed: {type(exc).__name__}: {exc}") from exc
    return decode(payload, cls)
