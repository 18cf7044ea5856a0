"""Writes of the pricing context: atomic on its own database, validate first, publish events last.

The private modules: ``_prices`` (one price at a time, the admin's saves, scheduled sale
boundaries), ``_bulk`` (many base prices in one transaction, for imports), ``_promotions``,
``_vouchers`` (definitions and redemptions by orders) and ``_shipping`` (zones, methods, rates and
tax rates). Argument checks live in ``contexts.pricing.checks``, the rules in ``domain``. Callers
use the names re-exported here.
"""

from contexts.pricing.services._bulk import BasePrice, BatchOutcome, check_base_prices, set_base_prices
from contexts.pricing.services._prices import (
    announce_scheduled_price_changes,
    remove_price,
    save_price,
    set_base_price,
    set_sale_price,
)
from contexts.pricing.services._promotions import (
    PromotionTerms,
    create_promotion,
    delete_promotion,
    end_promotion,
    save_promotion,
)
from contexts.pricing.services._shipping import (
    ensure_shipping_method,
    ensure_shipping_rate,
    ensure_shipping_zone,
    ensure_tax_rate,
    save_shipping_method,
    save_shipping_rate,
    save_shipping_zone,
    save_tax_rate,
)
from contexts.pricing.services._vouchers import (
    VoucherDefinition,
    create_voucher,
    redeem_voucher,
    save_voucher,
    unredeem_voucher,
)

__all__ = [
    "BasePrice",
    "BatchOutcome",
    "PromotionTerms",
    "VoucherDefinition",
    "announce_scheduled_price_changes",
    "check_base_prices",
    "create_promotion",
    "create_voucher",
    "delete_promotion",
    "end_promotion",
    "ensure_shipping_method",
    "ensure_shipping_rate",
    "ensure_shipping_zone",
    "ensure_tax_rate",
    "redeem_voucher",
    "remove_price",
    "save_price",
    "save_promotion",
    "save_shipping_method",
    "save_shipping_rate",
    "save_shipping_zone",
    "save_tax_rate",
    "save_voucher",
    "set_base_price",
    "set_base_prices",
    "set_sale_price",
    "unredeem_voucher",
]
