"""Parsing one import row: no database needed."""

from decimal import Decimal

from contexts.catalogue.services.importing import parse_row
from tests.catalogue.import_files import cells


def test_a_good_row_parses_into_typed_values():
    row, errors = parse_row(7, cells(), has_images=False)
    assert errors == []
    assert row.category == ("Apparel", "Shirts")
    assert row.attributes == {"colour": "blue", "size": "M"}
    assert (row.price, row.currency) == (Decimal("19.90"), "EUR")
    assert row.stock == (("MAIN", 5), ("BACKUP", 0))
    assert row.images is None


def test_each_bad_cell_is_reported_with_its_column():
    _, errors = parse_row(
        3,
        cells(product_slug="Blue Shirt", sku="", price="1,5", stock="MAIN:5;MAIN:6", attributes="=x"),
        has_images=False,
    )
    assert {(e.line, e.column) for e in errors} == {
        (3, "product_slug"),
        (3, "sku"),
        (3, "price"),
        (3, "stock"),
        (3, "attributes"),
    }


def test_a_row_without_price_and_currency_has_no_price():
    row, errors = parse_row(2, cells(price="", currency=""), has_images=False)
    assert errors == [] and row.price is None


def test_a_price_without_a_currency_is_refused():
    _, errors = parse_row(2, cells(currency=""), has_images=False)
    assert [e.column for e in errors] == ["currency"]
