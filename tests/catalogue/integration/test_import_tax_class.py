"""The catalogue CSV's optional last column ``tax_class`` (issue 10): kept by pricing with the row's price."""

import pytest

from contexts.catalogue.models import Product
from contexts.catalogue.services import importing
from contexts.pricing import api as pricing_api

pytestmark = pytest.mark.django_db

HEADER = "product_slug,product_name,category,description,sku,variant_name,attributes,price,currency,stock"


def write_csv(tmp_path, rows, header=HEADER + ",tax_class", name="catalogue.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def tax_classes(*skus: str) -> dict[str, str]:
    return {sku: price.tax_class for sku, price in pricing_api.prices_for(skus=skus, currency="EUR").items()}


def test_each_row_sets_its_skus_tax_class_and_an_empty_cell_is_standard(tmp_path):
    importing.import_catalogue(
        write_csv(
            tmp_path,
            [
                "novel,Novel,Books,,BOOK-1,Paperback,,12.00,EUR,MAIN:3,reduced",
                "mug,Mug,Kitchen,,MUG-1,Mug,,9.50,EUR,MAIN:3,",
                "gift-card,Gift card,Gifts,,GIFT-1,Card,,25.00,EUR,,zero",
            ],
        )
    )
    assert tax_classes("BOOK-1", "MUG-1", "GIFT-1") == {"BOOK-1": "reduced", "MUG-1": "standard", "GIFT-1": "zero"}


def test_a_file_without_the_column_imports_standard(tmp_path):
    importing.import_catalogue(write_csv(tmp_path, ["mug,Mug,Kitchen,,MUG-1,Mug,,9.50,EUR,MAIN:3"], header=HEADER))
    assert tax_classes("MUG-1") == {"MUG-1": "standard"}


def test_a_re_import_moves_a_sku_to_another_tax_class(tmp_path):
    importing.import_catalogue(write_csv(tmp_path, ["novel,Novel,Books,,BOOK-1,Paperback,,12.00,EUR,MAIN:3,"]))
    importing.import_catalogue(
        write_csv(tmp_path, ["novel,Novel,Books,,BOOK-1,Paperback,,12.00,EUR,MAIN:3,reduced"], name="again.csv")
    )
    assert tax_classes("BOOK-1") == {"BOOK-1": "reduced"}


@pytest.mark.parametrize(
    "cell, message",
    [
        ("luxury", "'luxury' is not a tax class"),
        ("Reduced", "'Reduced' is not a tax class"),
        ("reduced;zero", "is not a tax class"),
    ],
)
def test_an_unknown_tax_class_names_the_line_and_the_field_and_nothing_is_imported(tmp_path, cell, message):
    path = write_csv(
        tmp_path,
        [
            "mug,Mug,Kitchen,,MUG-1,Mug,,9.50,EUR,MAIN:3,standard",
            f"novel,Novel,Books,,BOOK-1,Paperback,,12.00,EUR,,{cell}",
        ],
    )
    with pytest.raises(importing.ImportFailed) as failure:
        importing.import_catalogue(path)
    (error,) = failure.value.errors
    assert (error.line, error.column) == (3, "tax_class")
    assert message in error.message and "standard, reduced, zero" in error.message
    assert not Product.objects.exists()
    assert pricing_api.prices_for(skus=["MUG-1", "BOOK-1"], currency="EUR") == {}


def test_a_tax_class_without_a_price_is_refused(tmp_path):
    with pytest.raises(importing.ImportFailed) as failure:
        importing.import_catalogue(write_csv(tmp_path, ["novel,Novel,Books,,BOOK-1,Paperback,,,,MAIN:1,reduced"]))
    (error,) = failure.value.errors
    assert (error.line, error.column) == (2, "tax_class")
