"""The catalogue CSV importer: validate every row, then upsert products, variants, prices and stock.

Format (API.md): header ``product_slug,product_name,category,description,sku,variant_name,attributes,
price,currency,stock``, one row per variant; an optional ``images`` column holds image URLs separated
by ``|`` (the first is the listing image). ``category`` is ``Apparel > Shirts``; ``attributes`` is
``colour=blue;size=M``; ``stock`` is ``WAREHOUSE:quantity;WAREHOUSE:quantity``.

Cell rules beyond the shape: no text cell holds a control character (NUL, escape, DEL, C1; a
description may hold tab and line breaks), since PostgreSQL refuses NUL and the others are never
meant; attribute names are ≤ 64 and values ≤ 200 characters (``domain.attribute_problems``, the
rule the admin and the services apply too); a category path has at most 10 levels. Numbers are
plain ASCII: a price is ``123`` or ``123.45`` (no exponent such as ``1e3``, no sign, no fullwidth
or other Unicode digits), a quantity is ASCII digits only. **Warehouse codes are case-insensitive
and stored upper-case**: ``main:1`` names warehouse ``MAIN``, ``main:1;MAIN:2`` names it twice and
is refused; a code is ASCII letters, digits, ``_`` and ``-``, at most 32 characters. Together with
the length checks, these make every constraint the catalogue's tables enforce (lengths, NUL, the
slug and SKU uniqueness) a validation error, so a validated file cannot fail in the catalogue's
write after pricing and inventory were written.

Two phases, both streaming the file:

1. **Validate** every row (cells, and cross-row rules: a SKU appears once and under one product, a
   product's name, category, description and images agree on all its rows, a SKU already in the
   catalogue is not moved to another product), then the file's prices and stock levels against what
   pricing and inventory hold (``check_base_prices`` / ``check_stock_levels``, in chunks: a base
   price below a running sale price, on hand below what is reserved). Memory holds one small entry
   per SKU and per product and one chunk, never the rows. Any error: nothing is written anywhere,
   every bad row is reported by line and column. ``--dry-run`` stops here.
2. **Write**, in an order that makes a crash harmless: warehouses, prices (``set_base_prices``),
   stock (``set_stock_levels``), in chunks of at most 5 000 per call, then all catalogue writes in
   one transaction on the catalogue's database, batched, with its events published in bulk
   (``publish_many``); then the listing rows. Each step is an idempotent upsert that writes (and
   publishes) nothing when the value is already there, so re-running after a crash finishes the job
   and re-importing the same file changes nothing. No transaction spans contexts.

Prices and stock go first on purpose: their events then find no listed product for a new SKU and
cost one query each; the listing is built once, in bulk, at the end.
"""

import csv
import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connections
from django.db.models import Count
from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish_many
from commerce.money import MoneyError, parse_amount
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.domain import attribute_problems, has_control_characters, is_slug
from contexts.catalogue.events import ProductPublished, ProductUpdated
from contexts.catalogue.exceptions import CatalogueError
from contexts.catalogue.models import Category, Product, ProductImage, Variant
from contexts.catalogue.services import categories, listing
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api

COLUMNS = (
    "product_slug",
    "product_name",
    "category",
    "description",
    "sku",
    "variant_name",
    "attributes",
    "price",
    "currency",
    "stock",
)
OPTIONAL_COLUMNS = ("images",)
PRODUCT_COLUMNS = ("product_name", "category", "description", "images")
MAX_REPORTED_ERRORS = 1000
MAX_QUANTITY = 1_000_000_000

MAX_CATEGORY_DEPTH = 10  # the category's materialized path (ids) must fit its 255 characters

SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", re.ASCII)
WAREHOUSE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}", re.ASCII)  # after upper-casing: codes are case-insensitive
QUANTITY = re.compile(r"[0-9]+", re.ASCII)
PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)  # no exponent, sign or non-ASCII digit
_url = URLValidator(schemes=["http", "https"])

Progress = Callable[[str, int, int | None], None]  # (phase, rows done, rows in total or None)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


class ImportFailed(CatalogueError):
    """The file cannot be imported; nothing was written."""

    code = "import_failed"

    def __init__(self, errors: list[RowError], *, total: int | None = None) -> None:
        self.errors = errors
        self.total = total if total is not None else len(errors)
        super().__init__(f"{self.total} error(s) in the file; nothing was imported.")


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    product_slug: str
    product_name: str
    category: tuple[str, ...]
    description: str
    sku: str
    variant_name: str
    attributes: dict[str, str]
    price: Decimal | None
    currency: str
    stock: tuple[tuple[str, int], ...]
    images: tuple[str, ...] | None  # None: the file has no images column


@dataclass
class ImportReport:
    rows: int = 0
    products: int = 0
    variants: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    prices_set: int = 0
    stock_levels_set: int = 0
    listing_rows_written: int = 0
    dry_run: bool = False
    warehouses: list[str] = field(default_factory=list)


# --- Reading ------------------------------------------------------------------------------------


def _split_pairs(text: str, separator: str) -> list[tuple[str, str]] | None:
    pairs = []
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition(separator)
        if not sep:
            return None
        pairs.append((key.strip(), value.strip()))
    return pairs


def parse_row(line: int, cells: dict[str, str], *, has_images: bool) -> tuple[ImportRow | None, list[RowError]]:
    """One CSV record → an ``ImportRow``, or the errors of each bad cell."""
    errors: list[RowError] = []
    controlled = {
        column
        for column, text in cells.items()
        if column in COLUMNS + OPTIONAL_COLUMNS and has_control_characters(text, prose=column == "description")
    }

    def error(column: str, message: str) -> None:
        if column not in controlled:  # that cell's own problem is already reported
            errors.append(RowError(line, column, message))

    for column in sorted(controlled, key=(COLUMNS + OPTIONAL_COLUMNS).index):
        allowed = " (tab and line breaks are fine in a description)" if column == "description" else ""
        errors.append(RowError(line, column, f"holds a control character such as NUL or escape{allowed}."))

    slug = cells["product_slug"].strip()
    if not is_slug(slug):
        error("product_slug", f"{slug!r} is not a slug (lower-case letters, digits and single hyphens, ≤ 200).")
    name = cells["product_name"].strip()
    if not name or len(name) > 200:
        error("product_name", "A product name is required (≤ 200 characters).")
    category = categories.split_category_path(cells["category"])
    if not all(category) or any(len(part) > 120 for part in category) or len(category) > MAX_CATEGORY_DEPTH:
        error(
            "category",
            f"{cells['category']!r} is not a category path like 'Apparel > Shirts' "
            f"(at most {MAX_CATEGORY_DEPTH} levels of at most 120 characters).",
        )
    sku = cells["sku"].strip()
    if not SKU.match(sku) or len(sku) > 64:
        error("sku", f"{sku!r} is not a SKU (letters, digits, '.', '_', '/', '-', ≤ 64).")
    variant_name = cells["variant_name"].strip()
    if not variant_name or len(variant_name) > 200:
        error("variant_name", "A variant name is required (≤ 200 characters).")
    attributes: dict[str, str] = {}
    pairs = _split_pairs(cells["attributes"], "=")
    if pairs is None or any(not key for key, _ in pairs):
        error("attributes", f"{cells['attributes']!r} is not like 'colour=blue;size=M'.")
    else:
        for key, value in pairs:
            if key in attributes:
                error("attributes", f"attribute {key!r} appears twice.")
            attributes[key] = value
        for problem in attribute_problems(attributes):
            error("attributes", problem)
    currency = cells["currency"].strip().upper()
    price: Decimal | None = None
    raw_price = cells["price"].strip()
    if raw_price or currency:
        if currency not in catalogue_settings().currencies:
            error("currency", f"{currency!r} is not one of {', '.join(catalogue_settings().currencies)}.")
        else:
            try:
                price = parse_amount(raw_price, currency)
                if not PLAIN_DECIMAL.fullmatch(raw_price):
                    raise MoneyError("write a plain decimal with ASCII digits, like 19.90 (no exponent, no sign)")
                if price <= 0 or price >= Decimal("1e10"):
                    raise MoneyError("must be above zero and below 10 000 000 000")
            except MoneyError as exc:
                error("price", f"{raw_price!r} is not a price: {exc}")
                price = None
    stock: list[tuple[str, int]] = []
    stock_pairs = _split_pairs(cells["stock"], ":")
    if stock_pairs is None:
        error("stock", f"{cells['stock']!r} is not like 'MAIN:10;BACKUP:4'.")
    else:
        for raw_code, quantity in stock_pairs:
            code = raw_code.upper() if raw_code.isascii() else raw_code
            if not WAREHOUSE.fullmatch(code):
                error("stock", f"{raw_code!r} is not a warehouse code (ASCII letters, digits, '_', '-', ≤ 32).")
            elif not QUANTITY.fullmatch(quantity) or int(quantity) > MAX_QUANTITY:
                error("stock", f"{quantity!r} is not a whole quantity of 0 or more for {code}.")
            elif code in dict(stock):
                error("stock", f"warehouse {code} appears twice.")
            else:
                stock.append((code, int(quantity)))
    images: tuple[str, ...] | None = None
    if has_images:
        images = tuple(url.strip() for url in cells["images"].split("|") if url.strip())
        for url in images:
            try:
                if len(url) > 500:
                    raise ValidationError("too long")
                _url(url)
            except ValidationError:
                error("images", f"{url[:80]!r} is not an http(s) URL of at most 500 characters.")
    if errors:
        return None, errors
    row = ImportRow(
        line=line,
        product_slug=slug,
        product_name=name,
        category=category,
        description=cells["description"].strip(),
        sku=sku,
        variant_name=variant_name,
        attributes=attributes,
        price=price,
        currency=currency,
        stock=tuple(stock),
        images=images,
    )
    return row, []


def _records(path: Path) -> Iterator[tuple[int, dict[str, str] | None, list[RowError]]]:
    """Stream ``(line, cells, errors)``; the header's own problems come first with line 1."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        line = 1
        try:
            header = next(reader, None)
            if header is None:
                yield 1, None, [RowError(1, "header", "The file is empty.")]
                return
            names = [name.strip() for name in header]
            problems = []
            missing = [c for c in COLUMNS if c not in names]
            if missing:
                problems.append(RowError(1, "header", f"missing column(s): {', '.join(missing)}."))
            unknown = [n for n in names if n not in COLUMNS and n not in OPTIONAL_COLUMNS]
            if unknown:
                problems.append(RowError(1, "header", f"unknown column(s): {', '.join(unknown)}."))
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                problems.append(RowError(1, "header", f"repeated column(s): {', '.join(repeated)}."))
            if problems:
                yield 1, None, problems
                return
            line = reader.line_num + 1
            for record in reader:
                if not record or all(not cell.strip() for cell in record):
                    line = reader.line_num + 1
                    continue
                if len(record) != len(names):
                    yield line, None, [RowError(line, "row", f"expected {len(names)} fields, found {len(record)}.")]
                else:
                    yield line, dict(zip(names, record, strict=True)), []
                line = reader.line_num + 1
        except UnicodeDecodeError:
            yield line, None, [RowError(line, "file", "The file is not UTF-8 text; save it as UTF-8 and retry.")]
        except csv.Error as exc:
            yield line, None, [RowError(line, "row", f"unreadable CSV: {exc}.")]


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _has_images(path: Path) -> bool:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            header = next(csv.reader(handle), [])
        except (UnicodeDecodeError, csv.Error):
            return False
    return "images" in [name.strip() for name in header]


def iter_rows(path: Path) -> Iterator[ImportRow]:
    """The rows of an already validated file."""
    has_images = _has_images(path)
    for line, cells, errors in _records(path):
        row, row_errors = parse_row(line, cells, has_images=has_images) if cells is not None else (None, errors)
        if row is None:
            raise ImportFailed(row_errors or errors)
        yield row


# --- Validation ---------------------------------------------------------------------------------


@dataclass
class _Validated:
    rows: int
    skus: dict[str, tuple[int, str]]  # sku → (line, product slug)
    products: dict[str, int]  # slug → first line
    warehouses: list[str]


def validate_file(path: Path, *, progress: Progress | None = None) -> _Validated:
    """Check every row and the cross-row rules, streaming; raise ``ImportFailed`` listing every problem."""
    errors: list[RowError] = []
    total_errors = 0

    def add(found: list[RowError]) -> None:
        nonlocal total_errors
        total_errors += len(found)
        room = MAX_REPORTED_ERRORS - len(errors)
        errors.extend(found[: max(room, 0)])

    has_images = _has_images(path)
    skus: dict[str, tuple[int, str]] = {}
    products: dict[str, tuple[int, dict[str, str]]] = {}
    warehouses: dict[str, None] = {}
    rows = 0
    for line, cells, record_errors in _records(path):
        rows += 1
        if progress and rows % 1000 == 0:
            progress("validate", rows, None)
        if cells is None:
            add(record_errors)
            continue
        row, row_errors = parse_row(line, cells, has_images=has_images)
        if row is None:
            add(row_errors)
            continue
        cross: list[RowError] = []
        seen = skus.get(row.sku)
        if seen is not None:
            where = "" if seen[1] == row.product_slug else f" under product {seen[1]!r}"
            cross.append(RowError(line, "sku", f"SKU {row.sku} already appears at line {seen[0]}{where}."))
        else:
            skus[row.sku] = (line, row.product_slug)
        fingerprint = {
            "product_name": row.product_name,
            "category": " > ".join(row.category),
            "description": _digest(row.description),
            "images": _digest("|".join(row.images or ())),
        }
        first = products.get(row.product_slug)
        if first is None:
            products[row.product_slug] = (line, fingerprint)
        else:
            for column in PRODUCT_COLUMNS:
                if first[1][column] != fingerprint[column]:
                    cross.append(
                        RowError(
                            line,
                            column,
                            f"differs from line {first[0]} for product {row.product_slug!r} (one product, one value).",
                        )
                    )
        for code, _ in row.stock:
            warehouses.setdefault(code, None)
        add(cross)
    if progress:
        progress("validate", rows, rows)
    if not total_errors:
        add(_check_against_catalogue(skus))
    if not total_errors:
        add(_check_against_pricing_and_inventory(path, progress=progress))
    if total_errors:
        errors.sort(key=lambda e: e.line)
        raise ImportFailed(errors, total=total_errors)
    return _Validated(
        rows=rows,
        skus=skus,
        products={slug: first_line for slug, (first_line, _) in products.items()},
        warehouses=list(warehouses),
    )


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _check_against_catalogue(skus: dict[str, tuple[int, str]]) -> list[RowError]:
    """A SKU already in the catalogue stays with its product: the file may not move it."""
    errors = []
    names = list(skus)
    for start in range(0, len(names), 1000):
        chunk = names[start : start + 1000]
        for sku, owner in Variant.objects.filter(sku__in=chunk).values_list("sku", "product__slug"):
            line, slug = skus[sku]
            if owner != slug:
                errors.append(RowError(line, "sku", f"SKU {sku} already belongs to product {owner!r}."))
    return errors


# --- Checks against pricing's and inventory's stored state ---------------------------------------

PRICE_COLUMNS = {"amount": "price", "sale_amount": "price", "currency": "currency", "sku": "sku"}
Priced = tuple[int, pricing_api.PriceInput]  # (CSV line, item)
Stocked = tuple[int, inventory_api.StockLevelInput]


def _chunk_size() -> int:
    return max(1, min(catalogue_settings().import_chunk_size, inventory_api.MAX_STOCK_LEVELS_PER_CALL, 5000))


def _external_chunks(path: Path) -> Iterator[tuple[list[Priced], list[Stocked]]]:
    """The file's prices and stock levels, streamed in chunks that fit one bulk call each.

    Each yield holds one full chunk of one kind (the other list empty), the last one the leftovers.
    A row's stock levels stay in one chunk.
    """
    size = _chunk_size()
    prices: list[Priced] = []
    levels: list[Stocked] = []
    for row in iter_rows(path):
        if row.price is not None:
            prices.append((row.line, pricing_api.PriceInput(sku=row.sku, currency=row.currency, amount=row.price)))
            if len(prices) >= size:
                yield prices, []
                prices = []
        if levels and len(levels) + len(row.stock) > size:
            yield [], levels
            levels = []
        levels.extend(
            (row.line, inventory_api.StockLevelInput(sku=row.sku, warehouse_code=code, on_hand=quantity))
            for code, quantity in row.stock
        )
    if prices or levels:
        yield prices, levels


def _check_against_pricing_and_inventory(path: Path, *, progress: Progress | None = None) -> list[RowError]:
    """Would pricing and inventory accept every price and stock level of the file? Writes nothing.

    A few queries per chunk of 5 000, whatever the file's size.
    """
    errors: list[RowError] = []
    new_warehouses: set[str] = set()
    for prices, levels in _external_chunks(path):
        if prices:
            errors.extend(_check_prices(prices))
        if levels:
            errors.extend(_check_levels(levels, new_warehouses))
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    return errors


def _check_prices(prices: list[Priced]) -> list[RowError]:
    try:
        pricing_api.check_base_prices(prices=[item for _, item in prices])
    except pricing_api.InvalidPriceBatch as refusal:
        return [
            RowError(
                prices[index][0], PRICE_COLUMNS.get(name, "price"), _price_message(prices[index][1], name, message)
            )
            for index, (_sku, fields) in refusal.items.items()
            for name, messages in fields.items()
            for message in messages
        ]
    return []


def _price_message(item: pricing_api.PriceInput, name: str, message: str) -> str:
    if name == "sale_amount":  # judged against what pricing holds, not the cell alone: say so
        return f"a base price of {item.amount} {item.currency} would be below the sale price of {item.sku} ({message})"
    return message


def _check_levels(levels: list[Stocked], new_warehouses: set[str]) -> list[RowError]:
    """Judge the levels in warehouses that exist; a warehouse the import will create holds nothing yet."""
    items = [(line, level) for line, level in levels if level.warehouse_code not in new_warehouses]
    lines = {level.sku: line for line, level in levels}  # a SKU is on one row of a validated file
    while items:
        try:
            inventory_api.check_stock_levels(levels=[level for _, level in items])
        except inventory_api.UnknownWarehouse as refusal:
            if not refusal.warehouse_code or refusal.warehouse_code in new_warehouses:
                raise
            new_warehouses.add(refusal.warehouse_code)
            items = [(line, level) for line, level in items if level.warehouse_code != refusal.warehouse_code]
            continue
        except inventory_api.InsufficientStock as refusal:
            return [
                RowError(
                    lines[short.sku],
                    "stock",
                    f"on hand of {short.sku} cannot fall below what is reserved or allocated for orders "
                    f"(this takes out {short.requested}, only {short.available} available).",
                )
                for short in refusal.shortfalls
            ]
        except inventory_api.InventoryError as refusal:  # the row checks make these unexpected
            sku = getattr(refusal, "sku", "")
            return [RowError(lines.get(sku, items[0][0]), "stock", refusal.detail)]
        break
    return []


# --- Writing ------------------------------------------------------------------------------------


def import_catalogue(
    path: Path | str,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    publish_new: bool = True,
    workers: int = 1,
) -> ImportReport:
    """Validate ``path`` and, unless ``dry_run``, upsert everything it holds.

    Prices and stock levels are written in bulk calls of at most 5 000 items; ``workers`` > 1 runs
    that many of those calls at once, each its own transaction in pricing or inventory: safe, since
    every (SKU, currency) and (SKU, warehouse) appears once in a validated file, so two calls never
    touch the same rows. Use it on PostgreSQL only.

    :raises ImportFailed: some rows are bad (``errors`` lists them by line and column); nothing written.
    """
    path = Path(path)
    digest = file_digest(path)
    validated = validate_file(path, progress=progress)
    report = ImportReport(
        rows=validated.rows,
        products=len(validated.products),
        variants=len(validated.skus),
        dry_run=dry_run,
        warehouses=validated.warehouses,
    )
    if dry_run:
        return report
    if file_digest(path) != digest:
        raise ImportFailed([RowError(0, "file", "The file changed while it was being imported; nothing written.")])
    reference = f"import:{path.name}"[:128]
    for code in validated.warehouses:
        inventory_api.ensure_warehouse(code=code)
    pending: list[Callable[[], object]] = []  # at most ``workers`` chunks in memory
    for prices, levels in _external_chunks(path):
        if prices:
            pending.append(partial(pricing_api.set_base_prices, prices=[item for _, item in prices]))
        if levels:
            pending.append(
                partial(inventory_api.set_stock_levels, levels=[level for _, level in levels], reference=reference)
            )
        if len(pending) >= workers:
            _count(_run(pending, workers=workers), report)
            pending = []
    _count(_run(pending, workers=workers), report)
    if progress:
        progress("prices and stock", validated.rows, validated.rows)
    product_ids = _write_catalogue(path, validated, report, progress=progress, publish_new=publish_new)
    report.listing_rows_written = listing.refresh_listing(product_ids=product_ids)
    if progress:
        progress("listing", validated.rows, validated.rows)
    return report


def _count(results: list[object], report: ImportReport) -> None:
    """Add what the bulk calls wrote; items already at their value were neither written nor announced."""
    for result in results:
        if isinstance(result, pricing_api.PriceBatchResult):
            report.prices_set += result.created + result.updated
        elif isinstance(result, inventory_api.StockBatchResult):
            report.stock_levels_set += result.created + result.changed


def _run(calls: list[Callable[[], object]], *, workers: int) -> list[object]:
    """Make the calls, ``workers`` at a time in threads; their results in order, the first failure raised."""
    if workers <= 1 or len(calls) < 2:
        return [call() for call in calls]
    results: list[object] = [None] * len(calls)
    failures: list[BaseException] = []

    def work(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # re-raised in the caller's thread below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


def _write_catalogue(
    path: Path, validated: _Validated, report: ImportReport, *, progress: Progress | None, publish_new: bool
) -> list[int]:
    """All catalogue writes of the file, in one transaction, in batches; events published last."""
    size = catalogue_settings().import_batch_size
    category_cache: dict[tuple[str, ...], Category] = {}
    created: set[int] = set()
    changed: set[int] = set()
    product_ids: set[int] = set()
    done = 0
    with atomic_in("catalogue"):
        batch: list[ImportRow] = []
        for row in iter_rows(path):
            batch.append(row)
            if len(batch) >= size:
                _write_batch(batch, category_cache, created, changed, product_ids, report, publish_new)
                done += len(batch)
                batch = []
                if progress:
                    progress("catalogue", done, validated.rows)
        if batch:
            _write_batch(batch, category_cache, created, changed, product_ids, report, publish_new)
            done += len(batch)
        _publish_events(created, changed - created)
    if progress:
        progress("catalogue", done, validated.rows)
    report.products_created = len(created)
    report.products_updated = len(changed - created)
    return sorted(product_ids)


def _write_batch(
    rows: list[ImportRow],
    category_cache: dict[tuple[str, ...], Category],
    created: set[int],
    changed: set[int],
    product_ids: set[int],
    report: ImportReport,
    publish_new: bool,
) -> None:
    now = timezone.now()
    firsts: dict[str, ImportRow] = {}
    for row in rows:
        firsts.setdefault(row.product_slug, row)
    existing = {p.slug: p for p in Product.objects.filter(slug__in=list(firsts))}
    new_products, updated_products = [], []
    for slug, row in firsts.items():
        category = categories.ensure_category_path(row.category, cache=category_cache)
        product = existing.get(slug)
        if product is None:
            product = Product(
                slug=slug,
                name=row.product_name,
                description=row.description,
                category_id=category.pk,
                is_published=publish_new,
                published_at=now if publish_new else None,
            )
            new_products.append(product)
            continue
        if (product.name, product.description, product.category_id) != (row.product_name, row.description, category.pk):
            product.name, product.description, product.category_id = row.product_name, row.description, category.pk
            product.updated_at = now
            updated_products.append(product)
    Product.objects.bulk_create(new_products)
    if any(p.pk is None for p in new_products):  # backends that return no ids from bulk inserts
        ids = dict(Product.objects.filter(slug__in=[p.slug for p in new_products]).values_list("slug", "pk"))
        for product in new_products:
            product.pk = product.id = ids[product.slug]
    Product.objects.bulk_update(updated_products, ["name", "description", "category_id", "updated_at"])
    for product in new_products:
        existing[product.slug] = product
        created.add(product.pk)
    changed.update(p.pk for p in updated_products)
    product_ids.update(p.pk for p in existing.values())

    variants = {v.sku: v for v in Variant.objects.filter(sku__in=[r.sku for r in rows])}
    gaining = {existing[r.product_slug].pk for r in rows if r.sku not in variants} - created
    counts: dict[int, int] = dict.fromkeys(gaining, 0)  # variants each product holds: a new one goes last
    if gaining:  # one query for the batch, not one per product
        counts.update(
            Variant.objects.filter(product_id__in=sorted(gaining))
            .order_by()
            .values("product_id")
            .annotate(n=Count("pk"))
            .values_list("product_id", "n")
        )
    new_variants, updated_variants = [], []
    for row in rows:
        product = existing[row.product_slug]
        variant = variants.get(row.sku)
        if variant is None:
            counts.setdefault(product.pk, 0)
            new_variants.append(
                Variant(
                    product_id=product.pk,
                    sku=row.sku,
                    name=row.variant_name,
                    attributes=row.attributes,
                    position=counts[product.pk],
                )
            )
            counts[product.pk] += 1
            changed.add(product.pk)
        elif (variant.name, variant.attributes) != (row.variant_name, row.attributes):
            variant.name, variant.attributes = row.variant_name, row.attributes
            updated_variants.append(variant)
            changed.add(product.pk)
    Variant.objects.bulk_create(new_variants)
    Variant.objects.bulk_update(updated_variants, ["name", "attributes"])
    report.variants_created += len(new_variants)
    report.variants_updated += len(updated_variants)

    with_images = [r for r in firsts.values() if r.images is not None]
    if with_images:
        ids = [existing[r.product_slug].pk for r in with_images]
        current: dict[int, list[str]] = {pk: [] for pk in ids}
        for product_id, url in ProductImage.objects.filter(product_id__in=ids).values_list("product_id", "url"):
            current[product_id].append(url)
        stale = [
            existing[r.product_slug].pk for r in with_images if current[existing[r.product_slug].pk] != list(r.images)
        ]
        if stale:
            ProductImage.objects.filter(product_id__in=stale).delete()
            ProductImage.objects.bulk_create(
                ProductImage(product_id=existing[r.product_slug].pk, url=url, alt_text=r.product_name, position=i)
                for r in with_images
                if existing[r.product_slug].pk in stale
                for i, url in enumerate(r.images or ())
            )
            changed.update(stale)


def _publish_events(created: set[int], updated: set[int]) -> None:
    """The catalogue's events of the import, 1 000 products at a time: three queries per thousand."""
    ids = sorted(created | updated)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        skus: dict[int, list[str]] = {pk: [] for pk in chunk}
        for product_id, sku in (
            Variant.objects.filter(product_id__in=chunk).order_by("position", "id").values_list("product_id", "sku")
        ):
            skus[product_id].append(sku)
        events: list[ProductPublished | ProductUpdated] = []
        for product in Product.objects.filter(pk__in=chunk).order_by("pk").only("pk", "slug", "is_published"):
            if product.pk in created:
                if product.is_published:
                    events.append(
                        ProductPublished(product_id=product.pk, slug=product.slug, skus=tuple(skus[product.pk]))
                    )
            else:
                events.append(
                    ProductUpdated(
                        product_id=product.pk,
                        slug=product.slug,
                        skus=tuple(skus[product.pk]),
                        published=product.is_published,
                    )
                )
        publish_many(events)
