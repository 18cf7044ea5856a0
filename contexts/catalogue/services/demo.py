"""The demo shop (``manage.py seed_demo``): the bundled catalogue CSV, two warehouses, a promotion, a voucher.

It fills an empty shop and never touches what exists. The run command seeds on every start, so a
re-run must keep every edit staff made since: each piece of the demo is written only where it is
missing, so a first seed stopped half-way is completed by the next run:

- a product of the demo is seeded only when none of its SKUs is in the catalogue: first its prices
  in every currency the shop sells (the CSV holds EUR; the others are derived at fixed demo rates)
  and its stock levels, each only where pricing or inventory has none yet, then the product itself;
- the promotion and the voucher only when pricing has none by that name or code;
- shipping methods, their rates and the VAT rates (``demo_shipping``) only where pricing has none.

A price changed or removed, a level changed, a product renamed, a promotion ended: all stay as staff
left them. A demo product deleted by staff comes back on the next run (the demo cannot tell it from
one never seeded); unpublish it instead.
"""

import csv
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from commerce.money import quantize
from contexts.catalogue.models import Category, Variant
from contexts.catalogue.services import demo_shipping, importing, listing
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api

DEMO_CSV = Path(__file__).resolve().parent.parent / "demo" / "catalogue.csv"
WAREHOUSES = (("MAIN", "Main warehouse", 10), ("BACKUP", "Backup warehouse", 20))
PROMOTION_CATEGORY = ("Home", "Kitchen")
PROMOTION_PERCENT = Decimal("15")
PROMOTION_NAME = "Kitchen week: 15 % off"
VOUCHER_CODE = "WELCOME10"
# Demo exchange rates from the CSV's EUR prices; a currency not listed here is priced 1:1.
DEMO_RATES = {
    "EUR": Decimal("1"),
    "USD": Decimal("1.08"),
    "GBP": Decimal("0.86"),
    "CHF": Decimal("0.95"),
    "SEK": Decimal("11.5"),
    "DKK": Decimal("7.46"),
    "NOK": Decimal("11.7"),
    "PLN": Decimal("4.3"),
    "JPY": Decimal("160"),
}
CHUNK = 1000  # items per pricing / inventory bulk call


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoReport:
    imported: importing.ImportReport
    prices_created: int
    stock_levels_created: int
    promotion_created: bool
    voucher_created: bool
    shipping_created: int = 0  # zones, methods, rates and VAT rates created (demo_shipping)


def seed_demo(*, progress: importing.Progress | None = None, csv_path: Path = DEMO_CSV) -> DemoReport:
    """Seed whatever part of the demo shop is missing; never change what exists.

    :raises importing.ImportFailed: the bundled file does not validate.
    """
    for code, name, priority in WAREHOUSES:
        inventory_api.ensure_warehouse(code=code, name=name, priority=priority)
    rows = list(importing.iter_rows(csv_path))
    known = set(Variant.objects.filter(sku__in=[row.sku for row in rows]).values_list("sku", flat=True))
    seeded_products = {row.product_slug for row in rows if row.sku in known}
    missing = [row for row in rows if row.product_slug not in seeded_products]
    # Prices and stock first, as the importer does: the listing is then built with them, and a product in
    # the catalogue always had its prices and stock written before it (a run stopped half-way left none).
    prices_created = _fill_prices(missing)
    levels_created = _fill_stock(missing)
    report = _import_catalogue_rows(csv_path, {row.sku for row in missing}, progress=progress)
    return DemoReport(
        imported=report,
        prices_created=prices_created,
        stock_levels_created=levels_created,
        promotion_created=_ensure_promotion_listed(),
        voucher_created=_ensure_voucher(),
        shipping_created=demo_shipping.ensure_shipping_and_tax(amount_in=demo_amount),
    )


def demo_amount(eur: Decimal, currency: str) -> Decimal:
    """The demo's price in ``currency`` of an item costing ``eur`` euros."""
    return quantize(eur * DEMO_RATES.get(currency, Decimal("1")), currency)


def _fill_prices(rows: list[importing.ImportRow]) -> int:
    """Base prices for every (SKU, currency) pricing has none for; returns how many were created."""
    priced = [row for row in rows if row.price is not None]
    created = 0
    for currency in settings.SHOP_CURRENCIES:
        for start in range(0, len(priced), CHUNK):
            chunk = priced[start : start + CHUNK]
            existing = pricing_api.prices_for(skus=[row.sku for row in chunk], currency=currency)
            wanted = [
                pricing_api.PriceInput(
                    sku=row.sku,
                    currency=currency,
                    amount=row.price if row.currency == currency else demo_amount(row.price, currency),
                    tax_class=demo_shipping.tax_class_for(row.category),
                )
                for row in chunk
                if row.sku not in existing and row.price is not None
            ]
            if wanted:
                created += pricing_api.set_base_prices(prices=wanted).created
    return created


def _fill_stock(rows: list[importing.ImportRow]) -> int:
    """Stock levels for every (SKU, warehouse) inventory has none for; returns how many were created."""
    created = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        existing = {
            (level.sku, level.warehouse_code)
            for level in inventory_api.get_stock_levels(skus=[row.sku for row in chunk])
        }
        wanted = [
            inventory_api.StockLevelInput(sku=row.sku, warehouse_code=code, on_hand=quantity)
            for row in chunk
            for code, quantity in row.stock
            if (row.sku, code) not in existing
        ]
        if wanted:
            created += len(wanted)
            inventory_api.set_stock_levels(levels=wanted, reference="demo")
    return created


def _import_catalogue_rows(
    csv_path: Path, skus: set[str], *, progress: importing.Progress | None
) -> importing.ImportReport:
    """Import the products of these SKUs only, without their prices and stock (already filled in)."""
    if not skus:
        return importing.ImportReport()
    with tempfile.TemporaryDirectory(prefix="seed-demo-") as directory:
        subset = Path(directory) / csv_path.name
        with (
            csv_path.open(encoding="utf-8-sig", newline="") as source,
            subset.open("w", encoding="utf-8", newline="") as out,
        ):
            reader = csv.DictReader(source)
            writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [], lineterminator="\n")
            writer.writeheader()
            for record in reader:
                if record["sku"].strip() in skus:
                    writer.writerow({**record, "price": "", "currency": "", "stock": ""})
        return importing.import_catalogue(subset, progress=progress)


def _ensure_promotion_listed() -> bool:
    """The promotion, and the listing showing it at once (its event would hand the whole catalogue to the
    background job: the demo is ready when the command ends)."""
    created = _ensure_promotion()
    if created:
        listing.refresh_all_listing_prices()
    return created


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
