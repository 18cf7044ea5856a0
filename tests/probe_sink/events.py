from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from commerce.eventbus import Event, domain_event, upcaster


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeLine:
    sku: str
    quantity: int
    price: Decimal


@domain_event("probe.Pinged", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class Pinged(Event):
    key: str
    fail_times: int = 0  # the handler raises on its first ``fail_times`` attempts
    amount: Decimal = Decimal("0")
    order_id: UUID | None = None
    due_at: datetime | None = None
    lines: tuple[ProbeLine, ...] = ()


@domain_event("probe_sink.Echoed", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class Echoed(Event):
    """Published by a handler of ``Pinged``: carries the correlation on to the next hop."""

    key: str


@domain_event("probe.Renamed", version=2)
@dataclass(frozen=True, slots=True, kw_only=True)
class Renamed(Event):
    """Version 2 of an event whose version 1 called ``title`` ``name``; ``note`` is new in version 2."""

    key: str
    title: str
    note: str = ""


@upcaster(Renamed, from_version=1)
def renamed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    payload["title"] = payload.pop("name")
    return payload
