"""Would pricing and inventory accept the file's prices and stock levels? Asked in chunks, writing nothing."""

from collections.abc import Iterator
from pathlib import Path

from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.services.importing._rows import MAX_REPORTED_ERRORS, Progress, RowError, iter_rows
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api

PRICE_COLUMNS = {"amount": "price", "sale_amount": "price", "currency": "currency", "sku": "sku"}
Priced = tuple[int, pricing_api.PriceInput]  # (CSV line, item)
Stocked = tuple[int, inventory_api.StockLevelInput]


def _chunk_size() -> int:
    return max(1, min(catalogue_settings().import_chunk_size, inventory_api.MAX_STOCK_LEVELS_PER_CALL, 5000))


def external_chunks(path: Path) -> Iterator[tuple[list[Priced], list[Stocked]]]:
    """The file's prices and stock levels, streamed in chunks that fit one bulk call each.

    Each yield holds one full chunk of one kind (the other list empty), the last one the leftovers.
    A row's stock levels stay in one chunk.
    """
    size = _chunk_size()
    prices: list[Priced] = []
    levels: list[Stocked] = []
    for row in iter_rows(path):
        if row.price is not None:
            item = pricing_api.PriceInput(sku=row.sku, currency=row.currency, amount=row.price, tax_class=row.tax_class)
            prices.append((row.line, item))
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


def check_against_pricing_and_inventory(path: Path, *, progress: Progress | None = None) -> list[RowError]:
    """Would pricing and inventory accept every price and stock level of the file? Writes nothing.

    A few queries per chunk of 5 000, whatever the file's size.
    """
    errors: list[RowError] = []
    existing_warehouses = {warehouse.code for warehouse in inventory_api.list_warehouses()}
    for prices, levels in external_chunks(path):
        if prices:
            errors.extend(_check_prices(prices))
        if levels:
            errors.extend(_check_levels(levels, existing_warehouses))
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


def _check_levels(levels: list[Stocked], existing_warehouses: set[str]) -> list[RowError]:
    """Judge the levels in warehouses that exist; a warehouse the import will create holds nothing yet."""
    items = [(line, level) for line, level in levels if level.warehouse_code in existing_warehouses]
    lines = {level.sku: line for line, level in levels}  # a SKU is on one row of a validated file
    if items:
        try:
            inventory_api.check_stock_levels(levels=[level for _, level in items])
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
    return []
