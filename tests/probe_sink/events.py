from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from commerce.eventbus import Event, domain_event


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
