"""Reading the catalogue CSV: the columns, one record to one ``ImportRow`` (every cell's rules), streaming."""

import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from commerce.money import MoneyError, parse_amount
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.domain import attribute_problems, has_control_characters, is_slug
from contexts.catalogue.exceptions import CatalogueError
from contexts.catalogue.services import categories
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
OPTIONAL_COLUMNS = ("images", "tax_class")
TAX_CLASSES = tuple(pricing_api.TaxClass)
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
    tax_class: str = pricing_api.TaxClass.STANDARD  # of the row's price


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
    tax_class = cells.get("tax_class", "").strip() or pricing_api.TaxClass.STANDARD
    if tax_class not in TAX_CLASSES:
        error("tax_class", f"{tax_class!r} is not a tax class: one of {', '.join(TAX_CLASSES)} (empty: standard).")
    elif cells.get("tax_class", "").strip() and price is None and "price" not in {e.column for e in errors}:
        error("tax_class", "a tax class goes with a price: this row has none.")
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
        tax_class=tax_class,
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
