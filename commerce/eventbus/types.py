"""Events as types: frozen dataclasses with a stable name and a schema version.

An event serializes to plain JSON guided by its field annotations, so ``Decimal``, ``UUID``,
``datetime``, ``date``, tuples and nested dataclasses come back exactly as they were published.
``publish`` checks that round trip up front, so a bad event fails in the publisher's code, not in a
worker hours later.
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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every domain event. Subclasses are frozen, slotted, keyword-only dataclasses."""

    event_id: UUID = dataclasses.field(default_factory=uuid4)
    occurred_at: datetime = dataclasses.field(default_factory=timezone.now)
    correlation_id: str = dataclasses.field(default_factory=correlation.current_correlation_id)
    causation_id: str = dataclasses.field(default_factory=correlation.current_causation_id)

    event_name: ClassVar[str] = ""
    event_version: ClassVar[int] = 1

    @property
    def context(self) -> str:
        """The context that publishes this event: the first part of its name."""
        return self.event_name.split(".", 1)[0]


_REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def domain_event(name: str, *, version: int = 1) -> Callable[[E], E]:
    """Register an event type under a stable ``context.PastTenseName`` name.

    Apply it above ``@dataclass(frozen=True, slots=True, kw_only=True)``.
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
        cls.event_name = name
        cls.event_version = version
        _REGISTRY[name] = cls
        return cls

    return register


def event_type(name: str) -> type[Event]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise EventError(f"Unknown event type {name!r}.") from None


def registered_event_types() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


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
        return annotation(**{name: decode(value[name], hint) for name, hint in _init_fields(annotation)})
    return value


@functools.cache
def _init_fields(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.init)


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


def from_payload(name: str, payload: dict[str, Any]) -> Event:
    return decode(payload, event_type(name))
