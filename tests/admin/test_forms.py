"""Issue 27 item 4: readable forms: attributes as ``name: value`` lines instead of raw JSON, and a
product's page showing its variants' current prices and stock per warehouse (read through pricing's
and inventory's api), linked to where they are edited."""

import html
import json
import re
from decimal import Decimal

import pytest

from contexts.catalogue.models import Product
from contexts.pricing import api as pricing_api
from tests.catalogue.factories import CategoryFactory
from tests.support.shop import make_product

pytestmark = pytest.mark.django_db


def product_form(category, attributes: str, variant_attributes: str = "") -> dict:
    return {
        "name": "Tee",
        "slug": "tee",
        "category": category.pk,
        "description": "",
        "attributes": attributes,
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "0",
        "variants-0-sku": "TEE-1",
        "variants-0-name": "One",
        "variants-0-attributes": variant_attributes,
        "variants-0-position": "0",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }


def test_attributes_are_written_and_shown_as_name_value_lines(staff):
    client = staff(None)
    category = CategoryFactory()
    form = product_form(category, "colour: blue\nmaterial:  organic cotton \n\n", "size: M")
    assert client.post("/admin/catalogue/product/add/", form).status_code == 302
    product = Product.objects.get(slug="tee")
    assert product.attributes == {"colour": "blue", "material": "organic cotton"}
    assert product.variants.get().attributes == {"size": "M"}
    page = client.get(f"/admin/catalogue/product/{product.pk}/change/").content.decode()
    assert "colour: blue\nmaterial: organic cotton</textarea>" in page
    assert '{"colour"' not in page


def test_an_empty_box_is_no_attributes_and_a_line_without_a_name_is_refused_with_its_number(staff):
    client = staff(None)
    category = CategoryFactory()
    refused = client.post("/admin/catalogue/product/add/", product_form(category, "colour: blue\njust text"))
    assert refused.status_code == 200
    assert "Line 2 (&#x27;just text&#x27;): write one attribute a line, as name: value." in refused.content.decode()
    twice = client.post("/admin/catalogue/product/add/", product_form(category, "a: 1\na: 2"))
    assert "named twice" in twice.content.decode()
    assert not Product.objects.exists()
    assert client.post("/admin/catalogue/product/add/", product_form(category, "")).status_code == 302
    assert Product.objects.get().attributes == {}


def test_attributes_a_line_cannot_say_stay_json_so_saving_unchanged_keeps_them(staff):
    client = staff(None)
    product = make_product("odd", "Odd", {"ODD-1": ("One", "3.00", 0)})
    Product.objects.filter(pk=product.pk).update(attributes={"ratio": "1:2", "a:b": "c"})
    page = client.get(f"/admin/catalogue/product/{product.pk}/change/").content.decode()
    shown = re.search(r'<textarea name="attributes"[^>]*>\s*(.*?)</textarea>', page, re.S).group(1)
    assert json.loads(html.unescape(shown)) == {"ratio": "1:2", "a:b": "c"}, "shown as JSON, exactly"
    form = product_form(product.category, html.unescape(shown))
    form.update({"name": "Odd", "slug": "odd", "variants-TOTAL_FORMS": "0"})
    assert client.post(f"/admin/catalogue/product/{product.pk}/change/", form).status_code == 302
    product.refresh_from_db()
    assert product.attributes == {"ratio": "1:2", "a:b": "c"}, "saved unchanged, unchanged"


def test_a_product_s_page_shows_its_variants_prices_and_stock_per_warehouse(staff):
    product = make_product("tee", "Tee", {"TEE-M": ("Medium", "20.00", 7), "TEE-L": ("Large", None, 0)})
    pricing_api.set_base_price(sku="TEE-M", currency="GBP", amount=Decimal("18.00"))
    page = staff("merchandisers").get(f"/admin/catalogue/product/{product.pk}/change/").content.decode()
    table = page.split('class="prices-and-stock"')[1].split("</table>")[0]
    assert "20.00 EUR" in table and "18.00 GBP" in table
    assert "7 available (7 on hand)" in table
    assert '<a href="/admin/pricing/price/?q=TEE-M">' in table
    assert '<a href="/admin/inventory/stocklevel/?q=TEE-M">' in table
    large = table.split("<td>TEE-L</td>")[1].split("</tr>")[0]
    assert "no price" in large and "none in any warehouse" in large
