"""The established shop's side of bench/established/run.py, run in .venv-established (Oscar is not in the
shop's own environment). Each command prints one JSON object on its last line:

    python -m oscarshop.tasks setup N       # create/migrate the database, empty it, N products (ids 1..N)
    python -m oscarshop.tasks flash UNITS   # a new product with UNITS in stock: {"product": id}
    python -m oscarshop.tasks state ID      # orders, units sold and stock of product ID
    python -m oscarshop.tasks queries ID    # statements of one checkout of product ID, in process
"""

import json
import os
import sys
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oscarshop.settings")

PLENTY = 1_000_000  # stock of the catalogue's products: the cart path never runs out
# Every product gets its analytics record (Oscar counts basket additions and purchases per product) when it is
# made, as in a shop whose products have been seen before. Without it, Oscar's counter races on the first
# concurrent additions of a product: one request's INSERT fails, Oscar catches the IntegrityError inside the
# request's transaction (ATOMIC_REQUESTS) and its next statement fails, a 500.
ADDRESS = {
    "first_name": "Bench",
    "last_name": "Buyer",
    "line1": "Hauptstrasse 1",
    "line4": "Berlin",
    "postcode": "10115",
}


def ensure_database() -> None:
    import psycopg

    url = urlsplit(os.environ.get("ESTABLISHED_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/established_bench"))
    name = url.path.lstrip("/")
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
            return
    # setup empties the database's catalogue, baskets, orders and sessions: only ever one of Oscar's own
    with psycopg.connect(urlunsplit(url), connect_timeout=10) as connection:
        tables = {row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    if tables and "partner_stockrecord" not in tables:
        sys.exit(f"{name} holds tables but not Oscar's: give the established shop a database of its own")


def setup(count: int) -> dict:
    ensure_database()
    import django

    django.setup()
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    tables = [
        model._meta.db_table
        for label in ("order", "basket", "catalogue", "partner", "payment", "analytics", "address", "sessions")
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed and not model._meta.proxy
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)} RESTART IDENTITY CASCADE")

    from oscar.core.loading import get_model

    Country = get_model("address", "Country")
    ProductRecord = get_model("analytics", "ProductRecord")
    Partner = get_model("partner", "Partner")
    Product = get_model("catalogue", "Product")
    ProductClass = get_model("catalogue", "ProductClass")
    StockRecord = get_model("partner", "StockRecord")

    Country.objects.update_or_create(
        iso_3166_1_a2="DE",
        defaults={"iso_3166_1_a3": "DEU", "iso_3166_1_numeric": "276", "printable_name": "Germany",
                  "name": "Germany", "is_shipping_country": True},
    )  # fmt: skip
    product_class = ProductClass.objects.create(name="Bench", slug="bench", requires_shipping=True, track_stock=True)
    partner = Partner.objects.create(name="Bench partner", code="bench")
    products = Product.objects.bulk_create(
        Product(structure="standalone", title=f"Product {i}", slug=f"product-{i}", upc=f"B{i:06d}",
                product_class=product_class, is_public=True)
        for i in range(1, count + 1)
    )  # fmt: skip
    StockRecord.objects.bulk_create(
        StockRecord(product=product, partner=partner, partner_sku=product.upc, price_currency="EUR",
                    price=Decimal("10.00"), num_in_stock=PLENTY, num_allocated=0)
        for product in products
    )  # fmt: skip
    ProductRecord.objects.bulk_create(ProductRecord(product=product) for product in products)
    return {"products": [product.pk for product in products]}


def flash(units: int) -> dict:
    import django

    django.setup()
    from oscar.core.loading import get_model

    Partner = get_model("partner", "Partner")
    Product = get_model("catalogue", "Product")
    ProductClass = get_model("catalogue", "ProductClass")
    StockRecord = get_model("partner", "StockRecord")

    number = Product.objects.count() + 1
    product = Product.objects.create(
        structure="standalone", title=f"Flash {number}", slug=f"flash-{number}", upc=f"F{number:06d}",
        product_class=ProductClass.objects.get(slug="bench"), is_public=True,
    )  # fmt: skip
    StockRecord.objects.create(
        product=product, partner=Partner.objects.get(code="bench"), partner_sku=product.upc, price_currency="EUR",
        price=Decimal("10.00"), num_in_stock=units, num_allocated=0,
    )  # fmt: skip
    get_model("analytics", "ProductRecord").objects.create(product=product)
    return {"product": product.pk}


def state(product_id: int) -> dict:
    import django

    django.setup()
    from django.db.models import Sum
    from oscar.core.loading import get_model

    Line = get_model("order", "Line")
    StockRecord = get_model("partner", "StockRecord")
    lines = Line.objects.filter(product_id=product_id)
    record = StockRecord.objects.get(product_id=product_id)
    return {
        "orders": lines.values("order_id").distinct().count(),
        "units_sold": lines.aggregate(total=Sum("quantity"))["total"] or 0,
        "num_in_stock": record.num_in_stock,
        "num_allocated": record.num_allocated or 0,
        "net_stock_level": record.net_stock_level,
    }


def checkout_body(basket_url: str, host: str) -> dict:
    return {
        "basket": basket_url,
        "guest_email": "bench@example.com",
        "shipping_address": {**ADDRESS, "country": f"{host}/api/countries/DE/"},
    }


def queries(product_id: int) -> dict:
    """Two checkouts through Django's test client, each after its basket was made and filled, every statement
    of the second's request captured (BEGIN and COMMIT included: Django logs them with the queries); the
    first's number too (the process's first request fills caches)."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    host = "http://testserver"
    counts = []
    for _ in range(2):  # the process's first checkout fills its caches: the second one's statements are given
        client = Client()
        basket = client.get("/api/basket/").json()
        added = client.post(
            "/api/basket/add-product/",
            {"url": f"{host}/api/products/{product_id}/", "quantity": 1},
            content_type="application/json",
        )
        assert added.status_code == 200, added.content
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/api/checkout/", checkout_body(basket["url"], host), content_type="application/json"
            )
        assert response.status_code == 200, response.content
        counts.append(len(captured.captured_queries))
    statements = [query["sql"] for query in captured.captured_queries]
    return {
        "queries": counts[-1],
        "first_queries": counts[0],
        "order": response.json()["number"],
        "statements": statements,
    }


def main(argv: list[str]) -> None:
    command, argument = argv[0], int(argv[1])
    handler = {"setup": setup, "flash": flash, "state": state, "queries": queries}[command]
    print(json.dumps(handler(argument)))


if __name__ == "__main__":
    main(sys.argv[1:])
