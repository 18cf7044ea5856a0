"""The demo shop (``manage.py seed_demo``): the bundled catalogue CSV, two warehouses, a promotion, a voucher.

Idempotent: the import is, the warehouses are ensured, and the promotion and the voucher are created
only when missing.
"""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from contexts.catalogue.models import Category, Variant
from contexts.catalogue.services import importing
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api

DEMO_CSV = Path(__file__).resolve().parent.parent / "demo" / "catalogue.csv"
WAREHOUSES = (("MAIN", "Main warehouse", 10), ("BACKUP", "Backup warehouse", 20))
PROMOTION_CATEGORY = ("Home", "Kitchen")
PROMOTION_PERCENT = Decimal("15")
VOUCHER_CODE = "WELCOME10"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoReport:
    imported: importing.ImportReport
    promotion_created: bool
    voucher_created: bool


def seed_demo(*, progress: importing.Progress | None = None, csv_path: Path = DEMO_CSV) -> DemoReport:
    for code, name, priority in WAREHOUSES:
        inventory_api.ensure_warehouse(code=code, name=name, priority=priority)
    report = importing.import_catalogue(csv_path, progress=progress)
    return DemoReport(imported=report, promotion_created=_ensure_promotion(), voucher_created=_ensure_voucher())


def _ensure_promotion() -> bool:
    """15 % off everything in Home > Kitchen, unless a kitchen product already shows a promotion.

    Pricing's api has no way to list promotions; a kitchen SKU already on sale tells us the demo's
    promotion exists (the demo catalogue has no other sales).
    """
    kitchen = Category.objects.filter(parent__name=PROMOTION_CATEGORY[0], name=PROMOTION_CATEGORY[1]).first()
    if kitchen is None:
        return False
    sku = Variant.objects.filter(product__category=kitchen).values_list("sku", flat=True).first()
    if sku is not None:
        listed = pricing_api.prices_for(skus=(sku,), currency="EUR", category_ids={sku: kitchen.ancestor_ids()})
        if sku in listed and listed[sku].on_sale:
            return False
    pricing_api.create_promotion(
        name="Kitchen week: 15 % off",
        kind="percentage",
        value=PROMOTION_PERCENT,
        scope="categories",
        category_ids=(kitchen.pk,),
    )
    return True


def _ensure_voucher() -> bool:
    try:
        pricing_api.create_voucher(
            code=VOUCHER_CODE,
            kind="percentage",
            value=Decimal("10"),
            currency="EUR",
            min_spend=Decimal("20.00"),
            description="10 % off your first order of 20.00 or more.",
        )
    except pricing_api.InvalidVoucherDefinition as refusal:
        if "code" in refusal.errors:
            return False  # created by an earlier run
        raise
    return True
