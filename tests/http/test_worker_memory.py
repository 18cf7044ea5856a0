"""A web worker's memory stays flat under load (issue 15, memory).

Django and DRF leave reference cycles behind every request (view, request, response and renderer context
point at each other), which only the cyclic collector frees. Python runs a full collection when the
objects it tracks grew by a quarter since the last one: with the ~300 000 objects a loaded shop holds,
that took ~20 000 requests, and the garbage piled up in between (6 MB a worker). ``commerce.wsgi`` loads
the URLconf and freezes what loading created, so full collections look at request garbage only and run as
often as it needs.
"""

import json
from decimal import Decimal

import pytest

from contexts.catalogue.services import products
from contexts.pricing import api as pricing_api
from tests.catalogue.factories import CategoryFactory, ProductFactory
from tests.support.processes import run_python

REQUESTS = 4000

SCRIPT = """
import gc, io, json
from commerce.wsgi import application

def get(path, query=""):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "HTTP_HOST": "testserver", "REMOTE_ADDR": "127.0.0.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO()}
    statuses = []
    b"".join(application(environ, lambda status, headers, *exc: statuses.append(status)))
    assert statuses[0].startswith("200"), (path, statuses)

frozen = gc.get_freeze_count()
for number in range(REQUESTS // 2):
    get("/api/v1/products")
    get("/api/v1/products/mug")
print(json.dumps({"frozen": frozen, "pending": gc.collect()}))
"""


@pytest.mark.django_db(transaction=True)
def test_request_garbage_does_not_pile_up_in_a_worker(settings, settle_events):
    pricing_api.set_base_price(sku="MUG-1", currency="EUR", amount=Decimal("9.50"))
    ProductFactory(slug="mug", name="Mug", category=CategoryFactory(name="Kitchen"),
                   variants=[products.VariantSpec(sku="MUG-1", name="Default", attributes={})])  # fmt: skip
    settle_events()
    result = run_python(
        f"REQUESTS = {REQUESTS}\n{SCRIPT}",
        timeout=300,
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        COMMERCE_USE_TEST_DATABASES="1",
        LOG_LEVEL="WARNING",
    )
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["frozen"] > 100_000  # what loading the shop created, the URLconf included
    # Left for the collector after the last request: less than one object a request (unfrozen, ~3 a request
    # piled up until a full collection, which came only after ~20 000 requests).
    assert outcome["pending"] < REQUESTS, outcome
