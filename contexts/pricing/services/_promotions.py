"""Automatic promotions: created, saved from the admin, ended, deleted; each announces PromotionsChanged."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.pricing import checks
from contexts.pricing.events import PromotionsChanged
from contexts.pricing.exceptions import InvalidPromotion, PromotionNotFound
from contexts.pricing.models import Promotion

CONTEXT = "pricing"


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionTerms:
    name: str
    kind: str
    value: Decimal
    scope: str
    currency: str | None = None
    skus: tuple[str, ...] = ()
    category_ids: tuple[int, ...] = ()
    min_subtotal: Decimal = Decimal(0)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int = 0
    stacks: bool = False
    is_active: bool = True


def _validate_promotion(promotion: Promotion) -> None:
    errors = promotion.term_errors()
    if errors:
        raise InvalidPromotion(errors)


def create_promotion(*, terms: PromotionTerms) -> Promotion:
    """:raises InvalidPromotion: bad terms (nothing saved)."""
    promotion = Promotion(
        name=terms.name,
        kind=terms.kind,
        value=terms.value,
        scope=terms.scope,
        currency=terms.currency or None,
        skus=terms.skus,  # judged as given (a bare string is refused, not split), then normalized
        category_ids=terms.category_ids,
        min_subtotal=terms.min_subtotal,
        starts_at=timezone.now() if terms.starts_at is None else terms.starts_at,
        ends_at=terms.ends_at,
        priority=terms.priority,
        stacks=terms.stacks,
        is_active=terms.is_active,
    )
    _validate_promotion(promotion)
    promotion.skus = sorted({sku.strip() for sku in promotion.skus})
    promotion.category_ids = sorted(set(promotion.category_ids))
    save_promotion(promotion)
    return promotion


def save_promotion(promotion: Promotion) -> None:
    """Validate, save and publish PromotionsChanged (api and admin alike)."""
    _validate_promotion(promotion)
    with atomic_in(CONTEXT):
        promotion.save()
        publish(PromotionsChanged(promotion_id=promotion.pk))


def end_promotion(*, promotion_id: int, now: datetime | None = None) -> Promotion:
    """:raises PromotionNotFound:
    :raises InvalidPricingInput: the id is not a whole number.
    """
    checks.check_id("promotion_id", promotion_id)
    now = now or timezone.now()
    with atomic_in(CONTEXT):
        promotion = Promotion.objects.select_for_update().filter(pk=promotion_id).first()
        if promotion is None:
            raise PromotionNotFound()
        promotion.is_active = False
        promotion.save(update_fields=["is_active", "updated_at"])
        publish(PromotionsChanged(promotion_id=promotion.pk))
    return promotion


def delete_promotion(*, promotion_id: int) -> None:
    """:raises InvalidPricingInput: the id is not a whole number."""
    checks.check_id("promotion_id", promotion_id)
    with atomic_in(CONTEXT):
        deleted, _ = Promotion.objects.filter(pk=promotion_id).delete()
        if deleted:
            publish(PromotionsChanged(promotion_id=promotion_id))
