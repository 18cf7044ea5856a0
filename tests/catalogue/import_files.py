"""Import files for the catalogue's import tests: a good CSV, its rows as cells, and what a refused
import looks like (every row is validated first, so a refusal imports nothing)."""

import io

import pytest
from django.core.management import CommandError, call_command

from contexts.catalogue.models import Category, Product, Variant
from contexts.catalogue.services.importing import COLUMNS

HEADER = "product_slug,product_name,category,description,sku,variant_name,attributes,price,currency,stock"
GOOD = [
    'blue-shirt,Blue Shirt,Apparel > Shirts,"Soft, cotton",BS-S,Small,colour=blue;size=S,19.99,EUR,MAIN:5;BACKUP:2',
    'blue-shirt,Blue Shirt,Apparel > Shirts,"Soft, cotton",BS-M,Medium,colour=blue;size=M,21.00,EUR,MAIN:0',
    "mug,Coffee Mug,Kitchen,Stoneware,MUG-1,Mug,,9.50,EUR,BACKUP:7",
]


def write_csv(tmp_path, rows, header=HEADER, name="catalogue.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def refused(path, *args) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_catalogue", str(path), *args, stdout=io.StringIO(), stderr=err)
    assert failure.value.returncode == 1
    return err.getvalue()


def nothing_imported() -> bool:
    return not Product.objects.exists() and not Variant.objects.exists() and not Category.objects.exists()


def cells(**overrides: str) -> dict[str, str]:
    base = dict(
        product_slug="blue-shirt",
        product_name="Blue Shirt",
        category=" Apparel >  Shirts ",
        description="Soft",
        sku="BS-M",
        variant_name="Medium",
        attributes="colour=blue; size=M",
        price="19.90",
        currency="eur",
        stock="MAIN:5;BACKUP:0",
    )
    assert set(base) == set(COLUMNS)
    return {**base, **overrides}
