"""The published interface of the pricing context: prices, promotions, vouchers and quotes: the authoritative price of a basket.

Other contexts import this module and ``events`` and nothing else of this context.

Money is ``Decimal`` with an explicit currency, quantized half-up to the currency's minor unit
(``commerce.money.quantize``), once per discount. How promotions and vouchers combine, and how an
order-level discount is spread over lines (largest remainder, to the cent), is documented in
``contexts.pricing.domain``; in short: per line the best non-stacking promotion plus every stacking
one, then basket promotions, then vouchers, never below zero, eligibility judged on the subtotal
before discounts. Then shipping (free over a threshold of the discounted subtotal) and tax on each
line's discounted amount at the destination's rate for the SKU's tax class, the shipping at the
destination's standard rate; with ``PRICES_INCLUDE_TAX`` (default on) prices contain the tax,
otherwise it is added on top. Every amount is rounded once, half-up; line taxes plus shipping tax
equal ``tax_total`` and net amounts plus taxes equal ``total``, to the cent.

The private modules: ``_prices``, ``_quotes``, ``_shipping`` (shipping, tax, refunds), ``_vouchers`` and
``_promotions``; callers use the names re-exported here.
"""

from contexts.pricing.api._prices import (
    PriceBatchResult,
    PriceInput,
    SkuPrice,
    check_base_prices,
    prices_for,
    remove_price,
    set_base_price,
    set_base_prices,
    set_sale_price,
)
from contexts.pricing.api._promotions import (
    Promotion,
    create_promotion,
    delete_promotion,
    end_promotion,
    find_promotions,
)
from contexts.pricing.api._quotes import (
    AppliedPromotion,
    AppliedVoucher,
    Quote,
    QuoteLine,
    QuoteLineRequest,
    RefusedVoucher,
    check_voucher,
    quote,
)
from contexts.pricing.api._shipping import (
    RefundBreakdown,
    RefundLine,
    RefundLineShare,
    SetupResult,
    ShippingOption,
    ensure_shipping_method,
    ensure_shipping_rate,
    ensure_shipping_zone,
    ensure_tax_rate,
    refund_breakdown,
    shipping_methods,
)
from contexts.pricing.api._vouchers import (
    Voucher,
    VoucherRedemption,
    create_voucher,
    get_voucher,
    redeem_voucher,
    unredeem_voucher,
)
from contexts.pricing.domain import DiscountKind, PromotionScope, TaxClass, VoucherRefusal
from contexts.pricing.exceptions import (
    InvalidPrice,
    InvalidPriceBatch,
    InvalidPricingInput,
    InvalidPromotion,
    InvalidQuantity,
    InvalidShipping,
    InvalidTaxRate,
    InvalidVoucherDefinition,
    PriceBatchTooLarge,
    PriceNotFound,
    PricingError,
    PromotionNotFound,
    ShippingUnavailable,
    UnknownCountry,
    UnknownSku,
    UnsupportedCurrency,
    VoucherInvalid,
    VoucherNotFound,
)

__all__ = [
    "AppliedPromotion",
    "AppliedVoucher",
    "DiscountKind",
    "InvalidPrice",
    "InvalidPriceBatch",
    "InvalidPricingInput",
    "InvalidPromotion",
    "InvalidQuantity",
    "InvalidShipping",
    "InvalidTaxRate",
    "InvalidVoucherDefinition",
    "PriceBatchResult",
    "PriceBatchTooLarge",
    "PriceInput",
    "PriceNotFound",
    "PricingError",
    "Promotion",
    "PromotionNotFound",
    "PromotionScope",
    "Quote",
    "QuoteLine",
    "QuoteLineRequest",
    "RefundBreakdown",
    "RefundLine",
    "RefundLineShare",
    "RefusedVoucher",
    "SetupResult",
    "ShippingOption",
    "ShippingUnavailable",
    "SkuPrice",
    "TaxClass",
    "UnknownCountry",
    "UnknownSku",
    "UnsupportedCurrency",
    "Voucher",
    "VoucherInvalid",
    "VoucherNotFound",
    "VoucherRedemption",
    "VoucherRefusal",
    "check_base_prices",
    "check_voucher",
    "create_promotion",
    "create_voucher",
    "delete_promotion",
    "end_promotion",
    "ensure_shipping_method",
    "ensure_shipping_rate",
    "ensure_shipping_zone",
    "ensure_tax_rate",
    "find_promotions",
    "get_voucher",
    "prices_for",
    "quote",
    "redeem_voucher",
    "refund_breakdown",
    "remove_price",
    "set_base_price",
    "set_base_prices",
    "set_sale_price",
    "shipping_methods",
    "unredeem_voucher",
]
