"""Events published by the pricing context."""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from commerce.eventbus import Event, domain_event


@domain_event("pricing.PriceChanged", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class PriceChanged(Event):
    """The listed price of ``sku`` in ``currency`` changed.

    ``old_amount``/``new_amount`` are the effective unit prices (sale price applied, automatic
    promotions not) before and after; ``None`` when there was no price / the price was removed.
    Published when the effective price changes (a price set, a sale set or removed, a scheduled sale
    starting or ending) and also when only the base price changes under a running sale (then old and
    new are equal), so a listing showing the base price can refresh too. Never when nothing changed.
    """

    sku: str
    currency: str
    old_amount: Decimal | None
    new_amount: Decimal | None


@domain_event("pricing.PromotionsChanged", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionsChanged(Event):
    """A promotion was created, changed or deleted: listing prices may have changed."""

    promotion_id: int


@domain_event("pricing.VoucherRedeemed", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class VoucherRedeemed(Event):
    code: str
    order_id: UUID
    customer_id: int | None
    amount: Decimal
    currency: str


@domain_event("pricing.VoucherReleased", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class VoucherReleased(Event):
    """A redemption was undone (the order failed or was compensated); the use is available again."""

    code: str
    order_id: UUID
    customer_id: int | None
