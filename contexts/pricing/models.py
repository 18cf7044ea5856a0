"""The pricing context's own state. No relation leaves this context.

Validation lives in ``domain`` and is shared: ``clean()`` here (admin forms) and the services (api)
refuse the same input with the same messages. CheckConstraints are the backstop underneath both.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_countries.fields import CountryField

from contexts.pricing import domain
from contexts.pricing.conf import known_countries, pricing_settings

AMOUNT = {"max_digits": 12, "decimal_places": 2}
TAX_CLASSES = [(c.value, c.value.title()) for c in domain.TaxClass]


class PriceQuerySet(models.QuerySet["Price"]):
    def on_sale_at(self, now) -> "PriceQuerySet":
        return self.filter(
            Q(sale_amount__isnull=False),
            Q(sale_starts_at__isnull=True) | Q(sale_starts_at__lte=now),
            Q(sale_ends_at__isnull=True) | Q(sale_ends_at__gt=now),
        )


class Price(models.Model):
    """The base price of one SKU in one currency, with an optional scheduled sale price."""

    sku = models.CharField(max_length=64, db_index=True)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT, help_text="Base price per unit.")
    sale_amount = models.DecimalField(**AMOUNT, null=True, blank=True, help_text="Sale price per unit (optional).")
    sale_starts_at = models.DateTimeField(null=True, blank=True, help_text="Empty: the sale runs from now.")
    sale_ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: the sale runs until removed.")
    # The effective price last announced by PriceChanged: lets the periodic job announce scheduled
    # sale starts and ends exactly once.
    announced_amount = models.DecimalField(**AMOUNT, null=True, blank=True, editable=False)
    tax_class = models.CharField(
        max_length=16,
        choices=TAX_CLASSES,
        default=domain.TaxClass.STANDARD,
        help_text="How the SKU is taxed (rates per country under Tax rates).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = PriceQuerySet.as_manager()

    class Meta:
        ordering = ("sku", "currency")
        constraints = [
            models.UniqueConstraint(fields=("sku", "currency"), name="pricing_price_one_per_sku_currency"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="pricing_price_amount_positive"),
            models.CheckConstraint(
                condition=Q(tax_class__in=[c.value for c in domain.TaxClass]), name="pricing_price_tax_class_known"
            ),
            models.CheckConstraint(
                condition=Q(sale_amount__isnull=True) | Q(sale_amount__gt=0, sale_amount__lte=F("amount")),
                name="pricing_price_sale_positive_and_not_above_base",
            ),
            models.CheckConstraint(
                condition=Q(sale_starts_at__isnull=True)
                | Q(sale_ends_at__isnull=True)
                | Q(sale_ends_at__gt=F("sale_starts_at")),
                name="pricing_price_sale_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.amount} {self.currency}"

    def effective_amount(self, now=None) -> Decimal:
        return domain.effective_unit_price(
            base_amount=self.amount,
            sale_amount=self.sale_amount,
            sale_starts_at=self.sale_starts_at,
            sale_ends_at=self.sale_ends_at,
            now=now or timezone.now(),
        )

    def is_on_sale(self, now=None) -> bool:
        return self.sale_amount is not None and domain.window_is_open(
            self.sale_starts_at, self.sale_ends_at, now or timezone.now()
        )

    def term_errors(self) -> dict[str, list[str]]:
        """What is wrong with this price, by field: the one check behind admin forms and services."""
        errors = domain.price_errors(
            currency=self.currency,
            amount=self.amount,
            sale_amount=self.sale_amount,
            sale_starts_at=self.sale_starts_at,
            sale_ends_at=self.sale_ends_at,
            currencies=pricing_settings().currencies,
        )
        if message := domain.tax_class_error(self.tax_class):
            errors.setdefault("tax_class", []).append(message)
        return errors

    def clean(self) -> None:
        errors = self.term_errors()
        if errors:
            raise ValidationError(errors)


class Status(models.TextChoices):
    ACTIVE = "active", "Active now"
    SCHEDULED = "scheduled", "Scheduled"
    ENDED = "ended", "Ended"


class ScheduledQuerySet(models.QuerySet):
    """Promotions and vouchers share the same schedule: ``is_active`` and ``[starts_at, ends_at)``."""

    def live_at(self, now):
        return self.filter(
            Q(is_active=True),
            Q(starts_at__isnull=True) | Q(starts_at__lte=now),
            Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        )

    def scheduled_at(self, now):
        return self.filter(is_active=True, starts_at__gt=now)

    def ended_at(self, now):
        return self.filter(Q(ends_at__lte=now) | Q(is_active=False))


def _discount_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(condition=Q(value__gt=0), name=f"{prefix}_value_positive"),
        models.CheckConstraint(
            condition=~Q(kind=domain.DiscountKind.PERCENTAGE) | Q(value__lte=100),
            name=f"{prefix}_percentage_at_most_100",
        ),
        models.CheckConstraint(
            condition=~Q(kind=domain.DiscountKind.FIXED) | Q(currency__isnull=False),
            name=f"{prefix}_fixed_has_currency",
        ),
        models.CheckConstraint(
            condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
            name=f"{prefix}_ends_after_start",
        ),
    ]


class Promotion(models.Model):
    """An automatic discount: no code, applied to every basket it fits while it runs."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=[(k.value, k.value.title()) for k in domain.DiscountKind])
    value = models.DecimalField(**AMOUNT, help_text="A percentage (0 < x ≤ 100) or an amount off.")
    currency = models.CharField(
        max_length=3, null=True, blank=True, help_text="Required for a fixed amount or a minimum subtotal."
    )
    scope = models.CharField(max_length=16, choices=[(s.value, s.value.title()) for s in domain.PromotionScope])
    skus = models.JSONField(default=list, blank=True, help_text="SKUs, for a promotion scoped to SKUs.")
    category_ids = models.JSONField(default=list, blank=True, help_text="Catalogue category ids.")
    min_subtotal = models.DecimalField(**AMOUNT, default=Decimal(0), help_text="Basket subtotal before discounts.")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(default=0, help_text="Higher wins a tie between equal non-stacking discounts.")
    stacks = models.BooleanField(default=False, help_text="Applies on top of the best non-stacking promotion.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScheduledQuerySet.as_manager()

    class Meta:
        ordering = ("-priority", "id")
        constraints = [
            *_discount_constraints("pricing_promotion"),
            models.CheckConstraint(
                condition=Q(min_subtotal__gte=0), name="pricing_promotion_min_subtotal_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def rule(self) -> domain.PromotionRule:
        return domain.PromotionRule(
            id=self.pk,
            name=self.name,
            kind=domain.DiscountKind(self.kind),
            value=self.value,
            scope=domain.PromotionScope(self.scope),
            skus=frozenset(self.skus or ()),
            category_ids=frozenset(self.category_ids or ()),
            min_subtotal=self.min_subtotal,
            priority=self.priority,
            stacks=self.stacks,
        )

    def term_errors(self) -> dict[str, list[str]]:
        """What is wrong with these terms, by field: the one check behind admin forms and services."""
        return domain.promotion_errors(
            name=self.name,
            priority=self.priority,
            stacks=self.stacks,
            is_active=self.is_active,
            kind=self.kind,
            value=self.value,
            currency=self.currency or None,
            scope=self.scope,
            skus=() if self.skus is None else self.skus,
            category_ids=() if self.category_ids is None else self.category_ids,
            min_subtotal=self.min_subtotal,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            currencies=pricing_settings().currencies,
        )

    def clean(self) -> None:
        errors = self.term_errors()
        if errors:
            raise ValidationError(errors)


class Voucher(models.Model):
    """A discount a customer asks for by code (compared case-insensitively, stored in upper case)."""

    code = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=[(k.value, k.value.title()) for k in domain.DiscountKind])
    value = models.DecimalField(**AMOUNT, help_text="A percentage (0 < x ≤ 100) or an amount off the order.")
    currency = models.CharField(
        max_length=3, null=True, blank=True, help_text="Required for a fixed amount or a minimum spend."
    )
    min_spend = models.DecimalField(**AMOUNT, default=Decimal(0), help_text="Basket subtotal before discounts.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Total redemptions; empty: no limit.")
    per_customer_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Redemptions per identified customer; empty: no limit."
    )
    times_used = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScheduledQuerySet.as_manager()

    class Meta:
        ordering = ("code",)
        constraints = [
            *_discount_constraints("pricing_voucher"),
            models.CheckConstraint(condition=Q(min_spend__gte=0), name="pricing_voucher_min_spend_not_negative"),
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=F("usage_limit")),
                name="pricing_voucher_never_used_beyond_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        self.code = domain.normalize_code(self.code)
        super().save(*args, **kwargs)

    def terms(self) -> domain.VoucherTerms:
        return domain.VoucherTerms(
            code=self.code,
            kind=domain.DiscountKind(self.kind),
            value=self.value,
            currency=self.currency or None,
            min_spend=self.min_spend,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            is_active=self.is_active,
            usage_limit=self.usage_limit,
            times_used=self.times_used,
            per_customer_limit=self.per_customer_limit,
        )

    def term_errors(self) -> dict[str, list[str]]:
        """What is wrong with these terms, by field: the one check behind admin forms and services."""
        return domain.voucher_errors(
            code=self.code,
            kind=self.kind,
            value=self.value,
            currency=self.currency or None,
            min_spend=self.min_spend,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            usage_limit=self.usage_limit,
            per_customer_limit=self.per_customer_limit,
            currencies=pricing_settings().currencies,
            times_used=self.times_used or 0,
            description=self.description,
            is_active=self.is_active,
        )

    def clean(self) -> None:
        self.code = domain.normalize_code(self.code)  # before validate_unique, so "summer" meets "SUMMER"
        errors = self.term_errors()
        if errors:
            raise ValidationError(errors)


class RedemptionQuerySet(models.QuerySet["VoucherRedemption"]):
    def current(self) -> "RedemptionQuerySet":
        return self.filter(released_at__isnull=True)


class VoucherRedemption(models.Model):
    """One use of a voucher by one order; released (not deleted) when the order is compensated."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    order_id = models.UUIDField(db_index=True)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    redeemed_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    objects = RedemptionQuerySet.as_manager()

    class Meta:
        ordering = ("-redeemed_at",)
        constraints = [
            models.UniqueConstraint(fields=("voucher", "order_id"), name="pricing_redemption_once_per_order"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="pricing_redemption_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.voucher_id} for {self.order_id}"


class OrderVoucherClaim(models.Model):
    """One row per order that ever redeemed a voucher: locked first by every redemption of the order,
    so the per-order voucher limit holds when two vouchers are redeemed for one order at once."""

    order_id = models.UUIDField(primary_key=True)

    def __str__(self) -> str:
        return str(self.order_id)


# --- Shipping and tax ----------------------------------------------------------------------------


class ShippingZone(models.Model):
    """A set of countries priced alike; a country belongs to at most one zone."""

    name = models.CharField(max_length=100, unique=True)
    countries = CountryField(multiple=True, help_text="ISO 3166-1 countries this zone covers.")

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def country_codes(self) -> list[str]:
        return sorted(str(country.code if hasattr(country, "code") else country) for country in self.countries)

    def term_errors(self) -> dict[str, list[str]]:
        errors = domain.shipping_zone_errors(name=self.name, countries=self.country_codes(), known=known_countries())
        if not errors and (taken := self.countries_in_other_zones()):
            listed = ", ".join(f"{code} ({name})" for code, name in sorted(taken.items()))
            errors["countries"] = [f"Already in another zone: {listed}. A country is in one zone."]
        return errors

    def countries_in_other_zones(self, *, lock: bool = False) -> dict[str, str]:
        """Which of this zone's countries other zones cover (country -> zone name)."""
        mine = set(self.country_codes())
        others = ShippingZone.objects.exclude(pk=self.pk).order_by("pk")
        if lock:
            others = others.select_for_update()
        return {code: zone.name for zone in others for code in zone.country_codes() if code in mine}

    def clean(self) -> None:
        errors = self.term_errors()
        if errors:
            raise ValidationError(errors)


class ShippingMethod(models.Model):
    """A way to ship (``standard``, ``express``): priced per zone and currency by its rates."""

    code = models.SlugField(max_length=64, unique=True, help_text="What carts and checkouts ask for.")
    name = models.CharField(max_length=100)
    delivery_days = models.PositiveSmallIntegerField(help_text="Working days to deliver, as told to customers.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ("code",)

    def __str__(self) -> str:
        return self.name

    def term_errors(self) -> dict[str, list[str]]:
        return domain.shipping_method_errors(
            code=self.code, name=self.name, delivery_days=self.delivery_days, is_active=self.is_active
        )

    def clean(self) -> None:
        errors = self.term_errors()
        if errors:
            raise ValidationError(errors)


class ShippingRate(models.Model):
    """The price of a method for a zone in one currency, optionally free over a (discounted) subtotal."""

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="rates")
    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="rates")
    currency = models.CharField(max_length=3)
    price = models.DecimalField(**AMOUNT, help_text="As products are priced: tax included when prices include tax.")
    free_over = models.DecimalField(
        **AMOUNT, null=True, blank=True, help_text="Free when the subtotal after discounts reaches this; empty: never."
    )

    class Meta:
        ordering = ("method__code", "zone__name", "currency")
        constraints = [
            models.UniqueConstraint(fields=("method", "zone", "currency"), name="pricing_shippingrate_one_per_key"),
            models.CheckConstraint(condition=Q(price__gte=0), name="pricing_shippingrate_price_not_negative"),
            models.CheckConstraint(
                condition=Q(free_over__isnull=True) | Q(free_over__gte=0),
                name="pricing_shippingrate_free_over_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method_id}/{self.zone_id} {self.price} {self.currency}"

    def term_errors(self) -> dict[str, list[str]]:
        return domain.shipping_rate_errors(
            currency=self.currency,
            price=self.price,
            free_over=self.free_over,
            currencies=pricing_settings().currencies,
        )

    def clean(self) -> None:
        errors = self.term_errors()
        if errors:
            raise ValidationError(errors)


class TaxRate(models.Model):
    """The VAT (or sales tax) percentage of one tax class in one country."""

    country = CountryField()
    tax_class = models.CharField(max_length=16, choices=TAX_CLASSES, default=domain.TaxClass.STANDARD)
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent, e.g. 19.00.")

    class Meta:
        ordering = ("country", "tax_class")
        constraints = [
            models.UniqueConstraint(fields=("country", "tax_class"), name="pricing_taxrate_one_per_country_class"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=100), name="pricing_taxrate_between_0_and_100"),
            models.CheckConstraint(
                condition=Q(tax_class__in=[c.value for c in domain.TaxClass]), name="pricing_taxrate_class_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.tax_class} {self.rate} %"

    def term_errors(self) -> dict[str, list[str]]:
        return domain.tax_rate_errors(
            country=str(self.country.code if hasattr(self.country, "code") else self.country or ""),
            tax_class=self.tax_class,
            rate=self.rate,
            countries=known_countries(),
        )

    def clean(self) -> None:
        errors = self.term_errors()
        if errors:
            raise ValidationError(errors)


# The tables whose rows are the rules a quote reads besides prices and vouchers: a write to any of
# them (whatever issues it: a service, the admin, a bulk update, a TRUNCATE) changes the rules token
# through database triggers (migration 0003).
RULE_TABLES = (
    "pricing_promotion",
    "pricing_taxrate",
    "pricing_shippingzone",
    "pricing_shippingmethod",
    "pricing_shippingrate",
)


class RulesVersion(models.Model):
    """One row whose ``token`` is replaced by a random one, in the same transaction, by every write
    to ``RULE_TABLES``: a process may keep those rules in memory for as long as it reads the same
    token (see ``selectors.RulesCache``). Written by the triggers only."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.token
