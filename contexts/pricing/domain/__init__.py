"""The pricing rules, pure: no ORM, no settings, no clock (``now`` is always passed in).

How a basket is priced (the order of operations, part of the context's contract):

1. **Unit price**: the sale price while its window is open (``starts_at <= now < ends_at``, either
   bound optional), otherwise the base price.
2. **Gross subtotal** = Σ unit price × quantity. Every eligibility test (a promotion's minimum
   subtotal, a voucher's minimum spend) is judged on the gross subtotal, so one discount never
   disqualifies another and adding a promotion can never raise a total.
3. **Line promotions** (scoped to SKUs or to category ids): for each line, the best non-stacking
   promotion (the largest discount; on a tie the higher priority, then the lower id) plus every
   stacking one. Each is computed on the line's gross amount (percentages never compound); a fixed
   amount is taken off each unit. The sum is capped at the line's gross amount.
4. **Basket promotions** (whole basket): the same best-plus-stacking rule, on the subtotal left after
   line promotions; a fixed amount is taken once per basket. Capped at what is left.
5. **Vouchers**, in the order given, each on what is left after steps 3–4 and earlier vouchers.
6. **Rounding**: each discount is computed exactly and quantized once, half-up to the currency's
   minor unit (``commerce.money.quantize``): per line in step 3, per basket in step 4, per voucher
   in step 5. Order-level discounts (steps 4 and 5) are spread over the lines in proportion to the
   lines' amounts after step 3, by largest remainder, so the lines add up to the total to the cent.
   Nothing is ever priced below zero.
7. **Shipping**: the chosen method's rate for the destination's zone and the currency; free when the
   *discounted* subtotal (after steps 3–5) reaches the rate's threshold. No destination country, no
   shipping line.
8. **Tax**, after all discounts: each line's discounted amount (step 6) is taxed at the rate of the
   destination country (the shop's default country when none is given) for the line's tax class;
   the shipping at the destination's *standard* rate. A class or country without a configured rate is
   taxed at 0 % (visible as ``tax_rate`` 0.00, never an error). With prices including tax (the
   default) the tax is the part of the amount ``amount × rate / (100 + rate)``; otherwise it is
   ``amount × rate / 100`` added on top. Each tax is rounded once, half-up, per line and once for
   shipping; ``tax_total`` is their exact sum, and net amounts plus taxes equal ``total`` exactly.
9. **Refunds** of some units of a line give back the same share of what the line cost and of its tax,
   rounded cumulatively so that the refunds of a line add up exactly to what was paid.

Listing prices (``listing_unit_price``) are step 1 and 3 for one unit of a SKU with no basket:
promotions that need a minimum subtotal, basket promotions and vouchers are left out.

The private modules: ``_discounts`` (promotions and vouchers as rules), ``_basket`` (steps 1–6),
``_tax`` (steps 7–9) and ``_validation`` (the one home of each input rule, shared by the services
and the models' ``clean()``).
"""

from contexts.pricing.domain._basket import (
    BasketLine,
    PricedBasket,
    PricedLine,
    gross_subtotal,
    listing_unit_price,
    merge_category_ids,
    price_basket,
    spread,
)
from contexts.pricing.domain._discounts import (
    HUNDRED,
    ZERO,
    DiscountKind,
    PromotionRule,
    PromotionScope,
    VoucherRefusal,
    VoucherTerms,
    effective_unit_price,
    normalize_code,
    voucher_refusal,
    window_is_open,
)
from contexts.pricing.domain._tax import (
    LineTax,
    RefundedLine,
    RefundShare,
    TaxClass,
    TaxedTotals,
    apply_tax,
    rate_for,
    refund_shares,
    shipping_price,
    tax_of,
)
from contexts.pricing.domain._validation import (
    MAX_AMOUNT,
    MAX_ID,
    MAX_INT,
    MAX_SKU,
    NUL,
    Errors,
    amount_error,
    bool_error,
    category_ids_error,
    code_error,
    country_error,
    currency_error,
    datetime_error,
    discount_errors,
    int_error,
    price_errors,
    promotion_errors,
    sequence_error,
    shipping_method_errors,
    shipping_rate_errors,
    shipping_zone_errors,
    sku_error,
    tax_class_error,
    tax_rate_errors,
    text_error,
    voucher_errors,
    window_errors,
)

__all__ = [
    "HUNDRED",
    "MAX_AMOUNT",
    "MAX_ID",
    "MAX_INT",
    "MAX_SKU",
    "NUL",
    "ZERO",
    "BasketLine",
    "DiscountKind",
    "Errors",
    "LineTax",
    "PricedBasket",
    "PricedLine",
    "PromotionRule",
    "PromotionScope",
    "RefundShare",
    "RefundedLine",
    "TaxClass",
    "TaxedTotals",
    "VoucherRefusal",
    "VoucherTerms",
    "amount_error",
    "apply_tax",
    "bool_error",
    "category_ids_error",
    "code_error",
    "country_error",
    "currency_error",
    "datetime_error",
    "discount_errors",
    "effective_unit_price",
    "gross_subtotal",
    "int_error",
    "listing_unit_price",
    "merge_category_ids",
    "normalize_code",
    "price_basket",
    "price_errors",
    "promotion_errors",
    "rate_for",
    "refund_shares",
    "sequence_error",
    "shipping_method_errors",
    "shipping_price",
    "shipping_rate_errors",
    "shipping_zone_errors",
    "sku_error",
    "spread",
    "tax_class_error",
    "tax_of",
    "tax_rate_errors",
    "text_error",
    "voucher_errors",
    "voucher_refusal",
    "window_errors",
    "window_is_open",
]
