"""Validating a whole file before anything is written: every row, the cross-row rules, the catalogue's
own state, then pricing's and inventory's (``_external``)."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from contexts.catalogue.models import Variant
from contexts.catalogue.services.importing._external import check_against_pricing_and_inventory
from contexts.catalogue.services.importing._rows import (
    MAX_REPORTED_ERRORS,
    PRODUCT_COLUMNS,
    ImportFailed,
    Progress,
    RowError,
    _has_images,
    _records,
    parse_row,
)


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
        add(check_against_pricing_and_inventory(path, progress=progress))
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
