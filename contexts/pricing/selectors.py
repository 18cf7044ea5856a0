"""Reads inside the pricing context: prices, live promotions, quotes.

Query budget (asserted in tests): prices for any number of SKUs are one query, live promotions one
more; a quote adds one for the destination's tax rates, one for the shipping rate when a method is
asked for, one for vouchers when codes are given and one for a customer's own redemptions when a
voucher limits uses per customer.

A quote's promotions, tax rates and shipping rate are kept in memory (``RulesCache``) for as long as
the rules token read with the prices stays the same: triggers change it with every write to those
tables, so a warm quote costs the prices query (and the voucher ones) only.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from django.db import connections
from django.db.models import Count, Q
from django.utils import timezone

from commerce.database import database_for, select_rows
from contexts.pricing import checks, domain
from contexts.pricing.conf import pricing_settings
from contexts.pricing.exceptions import InvalidPricingInput, InvalidQuantity, ShippingUnavailable, UnknownSku
from contexts.pricing.models import (
    Price,
    Promotion,
    RulesVersion,
    ShippingRate,
    TaxRate,
    Voucher,
    VoucherRedemption,
)

T = TypeVar("T")


def prices_by_sku(skus: Sequence[str], currency: str) -> dict[str, Price]:
    """One query, whatever the number of SKUs. Each price carries ``rules_token`` (see ``RulesCache``)."""
    wanted = sorted({sku for sku in skus if isinstance(sku, str)})
    if not wanted:
        return {}
    # Plain SQL (commerce.database.select_rows), the columns converted as the ORM converts them: every cart
    # request asks this, and building the ORM's query (filter, annotation, compile) cost more than running it.
    alias = database_for("pricing")
    quote = connections[alias].ops.quote_name
    fields = Price._meta.concrete_fields
    sql = (
        f"SELECT {', '.join(quote(field.column) for field in fields)}, "
        f"(SELECT token FROM {quote(RulesVersion._meta.db_table)} WHERE id = 1) AS rules_token "
        f"FROM {quote(Price._meta.db_table)} WHERE currency = %s AND sku IN ({', '.join(['%s'] * len(wanted))})"
    )
    names = [field.attname for field in fields]
    prices = {}
    for row in select_rows(sql, [currency, *wanted], using=alias, fields=fields):
        price = Price.from_db(alias, names, row[: len(fields)])
        price.rules_token = row[len(fields)]
        prices[price.sku] = price
    return prices


class RulesCache:
    """Promotions, tax rates and shipping rates as read under one rules token, in this process.

    The token changes (database triggers) in the transaction of every write to those tables, and is
    read in the same query as a quote's prices: while it is the same, what was read under it is still
    what the tables hold. No token (another database, or none written yet): nothing is kept.
    """

    _token: str | None = None
    _entries: dict[tuple, object] = {}

    @classmethod
    def get(cls, token: str | None, key: tuple, load: Callable[[], T]) -> T:
        if token is None:
            return load()
        if token != cls._token:
            cls._token, cls._entries = token, {}
        entries = cls._entries
        if key not in entries:
            entries[key] = load()
        return entries[key]  # type: ignore[return-value]


def _running(starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> bool:
    """``Promotion.objects.live_at(now)``'s time window, for promotions kept in memory."""
    return (starts_at is None or starts_at <= now) and (ends_at is None or ends_at > now)


def live_promotions(currency: str, now: datetime, *, rules_token: str | None = None) -> list[domain.PromotionRule]:
    """Promotions running at ``now`` that can apply in ``currency`` (one query, none while the rules
    under ``rules_token`` are in memory)."""
    if rules_token is None:
        rows = Promotion.objects.live_at(now).filter(Q(currency__isnull=True) | Q(currency=currency)).order_by()
        return sorted((promotion.rule() for promotion in rows), key=lambda rule: (-rule.priority, rule.id))

    def load() -> list[tuple[domain.PromotionRule, datetime | None, datetime | None]]:
        rows = Promotion.objects.filter(Q(currency__isnull=True) | Q(currency=currency), is_active=True).order_by()
        timed = [(promotion.rule(), promotion.starts_at, promotion.ends_at) for promotion in rows]
        return sorted(timed, key=lambda item: (-item[0].priority, item[0].id))

    active = RulesCache.get(rules_token, ("promotions", currency), load)
    return [rule for rule, starts_at, ends_at in active if _running(starts_at, ends_at, now)]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingPrice:
    sku: str
    base_amount: Decimal
    amount: Decimal
    on_sale: bool
    tax_class: str


def listing_prices(
    *, skus: Sequence[str], currency: str, category_ids: Mapping[str, Sequence[int]] | None, now: datetime | None = None
) -> dict[str, ListingPrice]:
    checks.check_currency(currency)
    errors: dict[str, list[str]] = {}
    if message := domain.sequence_error(skus):
        errors["skus"] = [message]
    elif any(isinstance(sku, str) and domain.NUL in sku for sku in skus):
        errors["skus"] = ["A SKU cannot contain a NUL character."]
    if category_ids is not None and (
        not isinstance(category_ids, Mapping) or any(domain.category_ids_error(ids) for ids in category_ids.values())
    ):
        errors["category_ids"] = ["Give a mapping of SKU to a list of positive whole category ids."]
    if errors:
        raise InvalidPricingInput(errors)
    now = now or timezone.now()
    prices = prices_by_sku(skus, currency)
    if not prices:
        return {}
    promotions = [rule for rule in live_promotions(currency, now) if rule.scope != domain.PromotionScope.BASKET]
    result = {}
    for sku, price in prices.items():
        unit = price.effective_amount(now)
        amount = domain.listing_unit_price(
            sku=sku,
            unit_price=unit,
            category_ids=domain.merge_category_ids(category_ids, sku),
            promotions=promotions,
            currency=currency,
        )
        result[sku] = ListingPrice(
            sku=sku,
            base_amount=price.amount,
            amount=amount,
            on_sale=amount < price.amount,
            tax_class=price.tax_class,
        )
    return result


# --- Quotes --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestedLine:
    sku: str
    quantity: int
    category_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteRequest:
    """A quote request whose every argument was checked (``check_quote_request``)."""

    lines: tuple[RequestedLine, ...]
    currency: str
    voucher_codes: tuple[str, ...]
    customer_id: int | None
    country: str  # the destination, or the shop's default country for tax
    ship: bool  # a destination was given: a shipping line is priced when a method is asked for
    shipping_method: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusedCode:
    code: str
    reason: domain.VoucherRefusal


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteResult:
    request: QuoteRequest
    basket: domain.PricedBasket
    taxed: domain.TaxedTotals
    tax_classes: tuple[str, ...]  # per line
    shipping_method: str | None
    promotion_names: dict[int, str]
    refused: tuple[RefusedCode, ...]
    on_sale_skus: frozenset[str]
    base_amounts: dict[str, Decimal]


def check_quote_request(
    *,
    lines: object,
    currency: object,
    voucher_codes: object,
    customer_id: object,
    country: object,
    shipping_method: object,
) -> QuoteRequest:
    """Every argument of a quote, checked once, before anything is read from the database.

    :raises UnsupportedCurrency: the shop does not sell in ``currency``.
    :raises InvalidQuantity: ``lines`` is not a list, too long, or a line's quantity, SKU or category ids are bad.
    :raises InvalidPricingInput: ``voucher_codes`` is not a list of texts, ``customer_id`` not a whole number,
        ``shipping_method`` not a text.
    :raises UnknownCountry: ``country`` is not an ISO 3166-1 alpha-2 code in capitals.
    """
    checks.check_currency(currency)
    settings = pricing_settings()
    if message := domain.sequence_error(lines):
        raise InvalidQuantity({"lines": [message]})
    lines = list(lines)  # type: ignore[call-overload]
    if len(lines) > settings.max_quote_lines:
        raise InvalidQuantity({"lines": [f"A quote has at most {settings.max_quote_lines} lines."]})
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        quantity = getattr(line, "quantity", None)
        if domain.int_error(quantity, minimum=1, maximum=settings.max_line_quantity):
            errors[f"lines[{index}].quantity"] = [
                f"A quantity is a whole number from 1 to {settings.max_line_quantity} (got {quantity!r})."
            ]
        if message := domain.sku_error(getattr(line, "sku", None)):
            errors[f"lines[{index}].sku"] = [message]
        if message := domain.category_ids_error(getattr(line, "category_ids", ())):
            errors[f"lines[{index}].category_ids"] = [message]
    if errors:
        raise InvalidQuantity(errors)
    if domain.sequence_error(voucher_codes) or any(
        not isinstance(code, str) or domain.NUL in code
        for code in voucher_codes  # type: ignore[attr-defined]
    ):
        errors["voucher_codes"] = ["Give a list of voucher codes (texts without NUL characters)."]
    if customer_id is not None and (
        message := domain.int_error(customer_id, minimum=-domain.MAX_ID - 1, maximum=domain.MAX_ID)
    ):
        errors["customer_id"] = [message]
    if shipping_method is not None and (message := domain.code_error(shipping_method, what="method code")):
        errors["shipping_method"] = [message]
    if errors:
        raise InvalidPricingInput(errors)
    ship = country is not None
    destination = checks.check_country(country) if ship else settings.default_country
    return QuoteRequest(
        lines=tuple(
            RequestedLine(sku=line.sku.strip(), quantity=line.quantity, category_ids=tuple(line.category_ids))
            for line in lines
        ),
        currency=currency,  # type: ignore[arg-type]
        voucher_codes=tuple(voucher_codes),  # type: ignore[arg-type]
        customer_id=customer_id,  # type: ignore[arg-type]
        country=destination,
        ship=ship,
        shipping_method=shipping_method.strip() if ship and shipping_method is not None else None,  # type: ignore[union-attr]
    )


def tax_rates(country: str, *, rules_token: str | None = None) -> dict[str, Decimal]:
    """The tax rate of each configured class in ``country`` (one query, none while in memory)."""

    def load() -> dict[str, Decimal]:
        return dict(TaxRate.objects.filter(country=country).order_by().values_list("tax_class", "rate"))

    return dict(RulesCache.get(rules_token, ("tax", country), load))


def shipping_rate(*, method: str, country: str, currency: str, rules_token: str | None = None) -> ShippingRate:
    """The rate of an active ``method`` for the zone covering ``country`` in ``currency`` (one query,
    none while in memory; the rate is then shared: read it, never change it).

    :raises ShippingUnavailable: no such active method, or it has no rate there in that currency.
    """

    def load() -> ShippingRate | None:
        return (
            _rates_for(country=country, currency=currency)
            .filter(method__code=method)
            .select_related("method")
            .order_by("pk")
            .first()
        )

    rate = RulesCache.get(rules_token, ("shipping", method, country, currency), load)
    if rate is None:
        raise ShippingUnavailable(method=method, country=country, currency=currency)
    return rate


def _rates_for(*, country: str, currency: str):
    """Rates of active methods in ``currency`` for the zone holding ``country``.

    A zone's countries are stored as comma-separated two-letter codes, so a substring match on the
    code cannot hit another country.
    """
    return ShippingRate.objects.filter(currency=currency, method__is_active=True, zone__countries__contains=country)


def shipping_options(*, country: str, currency: str) -> list[ShippingRate]:
    """Every active method's rate for ``country`` in ``currency``, with its method (one query)."""
    return list(_rates_for(country=country, currency=currency).select_related("method").order_by("pk"))


def quote_basket(request: QuoteRequest, *, now: datetime | None = None) -> QuoteResult:
    """Price a checked basket with the authoritative figures, in the order ``domain`` documents.

    :raises UnknownSku: a SKU has no price in the currency.
    :raises ShippingUnavailable: the method asked for does not serve the destination.
    """
    now = now or timezone.now()
    currency = request.currency
    lines = request.lines
    prices = prices_by_sku([line.sku for line in lines], currency)
    unknown = tuple(dict.fromkeys(line.sku for line in lines if line.sku not in prices))
    if unknown:
        raise UnknownSku(skus=unknown, currency=currency)
    token = next(iter(prices.values())).rules_token if prices else None
    rate = None
    if request.ship and request.shipping_method is not None:
        rate = shipping_rate(
            method=request.shipping_method, country=request.country, currency=currency, rules_token=token
        )
    rules = live_promotions(currency, now, rules_token=token)
    basket_lines = [
        domain.BasketLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=prices[line.sku].effective_amount(now),
            category_ids=line.category_ids,
        )
        for line in lines
    ]
    accepted, refused = _judge_vouchers(
        codes=request.voucher_codes,
        currency=currency,
        customer_id=request.customer_id,
        gross_subtotal=domain.gross_subtotal(basket_lines, currency),
        now=now,
    )
    basket = domain.price_basket(lines=basket_lines, promotions=rules, vouchers=accepted, currency=currency)
    rates = tax_rates(request.country, rules_token=token)
    tax_classes = tuple(prices[line.sku].tax_class for line in lines)
    shipping = None
    if rate is not None:
        shipping = domain.shipping_price(price=rate.price, free_over=rate.free_over, discounted_subtotal=basket.total)
    taxed = domain.apply_tax(
        line_totals=[line.total for line in basket.lines],
        line_rates=[domain.rate_for(rates, tax_class) for tax_class in tax_classes],
        shipping=shipping,
        shipping_rate=domain.rate_for(rates, domain.TaxClass.STANDARD),
        prices_include_tax=pricing_settings().prices_include_tax,
        currency=currency,
    )
    return QuoteResult(
        request=request,
        basket=basket,
        taxed=taxed,
        tax_classes=tax_classes,
        shipping_method=rate.method.code if rate is not None else None,
        promotion_names={rule.id: rule.name for rule in rules},
        refused=refused,
        on_sale_skus=frozenset(sku for sku, price in prices.items() if price.is_on_sale(now)),
        base_amounts={sku: price.amount for sku, price in prices.items()},
    )


def _judge_vouchers(
    *, codes: Sequence[str], currency: str, customer_id: int | None, gross_subtotal: Decimal, now: datetime
) -> tuple[list[domain.VoucherTerms], tuple[RefusedCode, ...]]:
    normalized = list(dict.fromkeys(domain.normalize_code(code) for code in codes if isinstance(code, str)))
    normalized = [code for code in normalized if code]
    if not normalized:
        return [], ()
    vouchers = {voucher.code: voucher for voucher in Voucher.objects.filter(code__in=normalized).order_by()}
    limited = [v.pk for v in vouchers.values() if v.per_customer_limit is not None]
    uses = customer_redemption_counts(limited, customer_id)  # a query only when a limit per customer applies
    accepted: list[domain.VoucherTerms] = []
    refused: list[RefusedCode] = []
    limit = pricing_settings().max_vouchers_per_order
    for code in normalized:
        voucher = vouchers.get(code)
        reason = domain.voucher_refusal(
            voucher=voucher.terms() if voucher else None,
            now=now,
            currency=currency,
            gross_subtotal=gross_subtotal,
            customer_uses=uses.get(voucher.pk, 0) if voucher else 0,
            customer_id=customer_id,
        )
        if reason is None and len(accepted) >= limit:
            reason = domain.VoucherRefusal.NOT_APPLICABLE
        if reason is None:
            accepted.append(voucher.terms())  # type: ignore[union-attr]
        else:
            refused.append(RefusedCode(code=code, reason=reason))
    return accepted, tuple(refused)


def customer_redemption_counts(voucher_ids: Sequence[int], customer_id: int | None) -> dict[int, int]:
    if customer_id is None or not voucher_ids:
        return {}
    rows = (
        VoucherRedemption.objects.current()
        .filter(voucher_id__in=voucher_ids, customer_id=customer_id)
        .order_by()
        .values("voucher_id")
        .annotate(uses=Count("id"))
    )
    return {row["voucher_id"]: row["uses"] for row in rows}


def voucher_by_code(code: str) -> Voucher | None:
    return Voucher.objects.filter(code=domain.normalize_code(code)).first()


# --- Lookups -------------------------------------------------------------------------------------


def promotions(*, name: str | None, active_only: bool, now: datetime | None = None) -> list[Promotion]:
    """Promotions named exactly ``name`` (any when None), only those running at ``now`` if asked; one query."""
    rows = Promotion.objects.all()
    if name is not None:
        rows = rows.filter(name=name)
    if active_only:
        rows = rows.live_at(now or timezone.now())
    return list(rows.order_by("-priority", "id"))
