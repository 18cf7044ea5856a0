"""Automatic promotions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from contexts.pricing import domain, selectors, services
from contexts.pricing.exceptions import (
    InvalidPricingInput,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Promotion:
    id: int
    name: str
    kind: str
    value: Decimal
    scope: str
    currency: str | None
    skus: tuple[str, ...]
    category_ids: tuple[int, ...]
    min_subtotal: Decimal
    starts_at: datetime
    ends_at: datetime | None
    priority: int
    stacks: bool
    is_active: bool


def _promotion(row) -> Promotion:
    return Promotion(
        id=row.pk,
        name=row.name,
        kind=row.kind,
        value=row.value,
        scope=row.scope,
        currency=row.currency,
        skus=tuple(row.skus),
        category_ids=tuple(row.category_ids),
        min_subtotal=row.min_subtotal,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        priority=row.priority,
        stacks=row.stacks,
        is_active=row.is_active,
    )


def create_promotion(
    *,
    name: str,
    kind: str,
    value: Decimal,
    scope: str,
    currency: str | None = None,
    skus: Sequence[str] = (),
    category_ids: Sequence[int] = (),
    min_subtotal: Decimal = Decimal(0),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    priority: int = 0,
    stacks: bool = False,
    is_active: bool = True,
) -> Promotion:
    """Create an automatic promotion. ``kind``: ``percentage`` | ``fixed`` (per unit on a line
    promotion, once on a basket one); ``scope``: ``skus`` | ``categories`` | ``basket``; ``currency``
    is required for a fixed amount or a minimum subtotal. Publishes ``PromotionsChanged``.

    :raises InvalidPromotion: bad terms (percentage over 100, end before start, …); nothing saved.
    """
    row = services.create_promotion(
        terms=services.PromotionTerms(
            name=name,
            kind=kind,
            value=value,
            scope=scope,
            currency=currency,
            skus=skus,  # type: ignore[arg-type]  # judged as given: a bare string is refused, not split
            category_ids=category_ids,  # type: ignore[arg-type]
            min_subtotal=min_subtotal,
            starts_at=starts_at,
            ends_at=ends_at,
            priority=priority,
            stacks=stacks,
            is_active=is_active,
        )
    )
    return _promotion(row)


def find_promotions(*, name: str | None = None, active_only: bool = False) -> tuple[Promotion, ...]:
    """Promotions named exactly ``name`` (case-sensitive; all when None), highest priority first.

    ``active_only`` keeps those running now (switched on, started, not ended). One query; an empty
    tuple when none match. Lets seed data create a promotion only once.

    :raises InvalidPricingInput: ``name`` is not a text or holds a NUL character.
    """
    if name is not None and (not isinstance(name, str) or domain.NUL in name):
        raise InvalidPricingInput({"name": ["A promotion name is a text without NUL characters."]})
    return tuple(_promotion(row) for row in selectors.promotions(name=name, active_only=active_only))


def end_promotion(*, promotion_id: int) -> Promotion:
    """Switch a promotion off now (kept for the record). Publishes ``PromotionsChanged``.

    :raises PromotionNotFound:
    :raises InvalidPricingInput: ``promotion_id`` is not a whole number.
    """
    return _promotion(services.end_promotion(promotion_id=promotion_id))


def delete_promotion(*, promotion_id: int) -> None:
    """Delete a promotion; publishes ``PromotionsChanged`` when there was one.

    :raises InvalidPricingInput: ``promotion_id`` is not a whole number.
    """
    services.delete_promotion(promotion_id=promotion_id)
