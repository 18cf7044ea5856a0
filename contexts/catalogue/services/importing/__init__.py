"""The catalogue CSV importer: validate every row, then upsert products, variants, prices and stock.

Format (API.md): header ``product_slug,product_name,category,description,sku,variant_name,attributes,
price,currency,stock``, one row per variant; an optional ``images`` column holds image URLs separated
by ``|`` (the first is the listing image), and an optional ``tax_class`` column the row's price's tax
class (``standard`` when absent or empty; ``standard``, ``reduced`` or ``zero``; given only with a
price), passed to pricing with the price. ``category`` is ``Apparel > Shirts``; ``attributes`` is
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

The package's private modules, one concern each: ``_rows`` (columns, cell rules, streaming the file),
``_validation`` (the whole file and the catalogue's state), ``_external`` (checks against pricing and
inventory), ``_writing`` (the writes, in the order above).
"""

from contexts.catalogue.services.importing._rows import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    TAX_CLASSES,
    ImportFailed,
    ImportRow,
    Progress,
    RowError,
    iter_rows,
    parse_row,
)
from contexts.catalogue.services.importing._validation import validate_file
from contexts.catalogue.services.importing._writing import ImportReport, import_catalogue

__all__ = [
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "TAX_CLASSES",
    "ImportFailed",
    "ImportReport",
    "ImportRow",
    "Progress",
    "RowError",
    "import_catalogue",
    "iter_rows",
    "parse_row",
    "validate_file",
]
