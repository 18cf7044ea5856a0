"""The demo shop (``manage.py seed_demo``): the bundled catalogue CSV, two warehouses, a promotion, a voucher.

Idempotent: the import is, the warehouses are ensured, and the promotion and the voucher are created
only when missing.
"""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from contexts.catalogue.models import Category
from contexts.catalogue.services import importing
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api

DEMO_CSV = Path(__file__).resolve().parent.parent / "demo" / "catalogue.csv"
WAREHOUSES = (("MAIN", "Main warehouse", 10), ("BACKUP", "Backup warehouse", 20))
PROMOTION_CATEGORY = ("Home", "Kitchen")
PROMOTION_PERCENT = Decimal("15")
PROMOTION_NAME = "Kitchen week: 15 % off"
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
    """15 % off everything in Home > Kitchen, unless pricing already has the demo's promotion (by name)."""
    if pricing_api.find_promotions(name=PROMOTION_NAME):
        return False
    kitchen = Category.objects.filter(parent__name=PROMOTION_CATEGORY[0], name=PROMOTION_CATEGORY[1]).first()
    if kitchen is None:
        return False
    pricing_api.create_promotion(
        name=PROMOTION_NAME,
        kind="percentage",
        value=PROMOTION_PERCENT,
        scope="categories",
        category_ids=(kitchen.pk,),
    )
    return True


def _ensure_voucher() -> bool:
    """WELCOME10, unless a voucher with that code exists (whatever its state: an admin may have changed it)."""
    try:
        pricing_api.get_voucher(code=VOUCHER_CODE)
    except pricing_api.VoucherNotFound:
        pricing_api.create_voucher(
            code=VOUCHER_CODE,
            kind="percentage",
            value=Decimal("10"),
            currency="EUR",
            min_spend=Decimal("20.00"),
            description="10 % off your first order of 20.00 or more.",
        )
        return True
    return False
