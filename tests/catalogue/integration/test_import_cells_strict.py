"""Import cells the databases would refuse, or read differently from what the merchant meant, are refused
at validation, by line and column, before anything is written in any context."""

from decimal import Decimal

import pytest

from contexts.catalogue.services.importing import COLUMNS, parse_row
from tests.catalogue.import_files import GOOD, cells, nothing_imported, refused, write_csv

TEXT_COLUMNS = ("product_slug", "product_name", "category", "description", "sku", "variant_name", "attributes")


@pytest.mark.parametrize("column", TEXT_COLUMNS)
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_a_control_character_in_any_text_cell_is_refused_with_its_column(column, char):
    value = {"attributes": f"colour=bl{char}ue"}.get(column, cells()[column][:2] + char + cells()[column][2:])
    row, errors = parse_row(4, cells(**{column: value}), has_images=False)
    assert row is None
    assert (4, column) in {(e.line, e.column) for e in errors}


def test_a_description_may_hold_tabs_and_line_breaks():
    row, errors = parse_row(2, cells(description="Soft\tcotton\r\nwashable"), has_images=False)
    assert errors == [] and row.description == "Soft\tcotton\r\nwashable"


@pytest.mark.parametrize("column", ["product_name", "variant_name", "category"])
def test_a_name_may_not_hold_a_tab_or_line_break(column):
    _, errors = parse_row(2, cells(**{column: "Blue\tShirt"}), has_images=False)
    assert [e.column for e in errors] == [column]


def test_attribute_keys_and_values_are_bounded():
    _, errors = parse_row(2, cells(attributes=f"{'k' * 65}=v"), has_images=False)
    assert [e.column for e in errors] == ["attributes"]
    _, errors = parse_row(2, cells(attributes=f"k={'v' * 201}"), has_images=False)
    assert [e.column for e in errors] == ["attributes"]


@pytest.mark.parametrize("price", ["1e3", "1E3", "1e-2", "１０.00", "10.0０", "+10", " 1 0", "10.", ".5", "inf", "NaN"])
def test_a_price_must_be_a_plain_decimal_of_ascii_digits(price):
    _, errors = parse_row(2, cells(price=price), has_images=False)
    assert [e.column for e in errors] == ["price"]


@pytest.mark.parametrize(
    "stock", ["MAIN:１", "MAIN:1e3", "MAIN:+1", "MAIN:-1", "ＭＡＩＮ:1", "MAÏN:1", f"{'W' * 33}:1"]
)
def test_a_stock_cell_needs_ascii_codes_and_digits(stock):
    _, errors = parse_row(2, cells(stock=stock), has_images=False)
    assert [e.column for e in errors] == ["stock"]


def test_warehouse_codes_are_case_insensitive_and_stored_upper_case():
    row, errors = parse_row(2, cells(stock="main:1;Backup-2:3"), has_images=False)
    assert errors == [] and row.stock == (("MAIN", 1), ("BACKUP-2", 3))
    _, errors = parse_row(2, cells(stock="main:1;MAIN:2"), has_images=False)
    assert [e.column for e in errors] == ["stock"]


def test_a_plain_price_still_parses():
    row, errors = parse_row(2, cells(price="10"), has_images=False)
    assert errors == [] and row.price == Decimal("10.00")
    assert set(COLUMNS) >= set(TEXT_COLUMNS)


@pytest.mark.django_db
@pytest.mark.parametrize("column", TEXT_COLUMNS)
def test_an_import_with_a_nul_in_any_text_column_is_refused_and_writes_nothing_anywhere(tmp_path, column):
    from contexts.inventory import api as inventory_api
    from contexts.pricing import api as pricing_api

    values = dict(
        product_slug="nul-shirt",
        product_name="Nul Shirt",
        category="Apparel",
        description="plain",
        sku="NUL-1",
        variant_name="One",
        attributes="size=M",
    )
    values[column] = values[column][:2] + "\x00" + values[column][2:]
    bad = ",".join([*(values[c] for c in TEXT_COLUMNS), "10.00", "EUR", "NEWHOUSE:4"])
    path = write_csv(tmp_path, [GOOD[2], bad])
    assert "line 3" in refused(path, "--dry-run")
    errors = refused(path)
    assert f"line 3, {column}" in errors
    assert nothing_imported()
    assert pricing_api.prices_for(skus=("MUG-1", "NUL-1"), currency="EUR") == {}
    assert all(a.available == 0 for a in inventory_api.get_availability(skus=("MUG-1", "NUL-1")).values())
