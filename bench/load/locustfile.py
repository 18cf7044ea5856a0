"""Locust users for ``bin/bench``: one scenario a run, picked by ``BENCH_SCENARIO``.

Runs in the load generator's own environment (``.venv-bench``, pinned in ``bench/load/requirements.txt``),
never in the shop's: it imports nothing of the shop. ``bench/load/run.py`` starts it headless, once a
scenario, e.g.::

    BENCH_SCENARIO=list BENCH_DATA=/tmp/data.json BENCH_OUT=/tmp/list.json \\
      .venv-bench/bin/locust -f bench/load/locustfile.py --headless -u 16 -r 16 -t 20s \\
      -H http://127.0.0.1:8160 --only-summary

``BENCH_DATA`` (written by run.py) holds the product slugs, the SKUs and the carts made beforehand;
``BENCH_OUT`` receives every request's name, status, error code, start time and duration, from which
run.py works out requests per second and percentiles. Users wait for nothing between requests (a
closed loop: ``-u`` clients, each sending its next request when the last one answered).
"""

import json
import os
import random
import uuid

import gevent
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

SCENARIO = os.environ.get("BENCH_SCENARIO", "list")
DATA = json.loads(open(os.environ["BENCH_DATA"]).read()) if os.environ.get("BENCH_DATA") else {}  # noqa: SIM115
CARTS = list(DATA.get("carts", {}).get(SCENARIO, []))
ADDRESS = {
    "full_name": "Bench Buyer",
    "line1": "Hauptstrasse 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
RECORDS: list[tuple[str, int, str, float, float]] = []


@events.request.add_listener
def record(request_type, name, response_time, response_length, response=None, exception=None, start_time=None, **_):
    status = getattr(response, "status_code", 0) or 0
    code = ""
    if status >= 400:
        try:
            code = json.loads(response.text).get("code", "")
        except (ValueError, AttributeError, TypeError):
            code = ""
    RECORDS.append((name, int(status), code, float(start_time or 0), float(response_time)))


@events.quitting.add_listener
def dump(environment, **_):
    if os.environ.get("BENCH_OUT"):
        with open(os.environ["BENCH_OUT"], "w") as out:
            json.dump(RECORDS, out)


@events.test_start.add_listener
def stop_when_the_carts_are_used(environment, **_):
    """A checkout scenario ends when its carts are used up and every user's last answer came back."""
    if not SCENARIO.startswith(("checkout", "flash")):
        return

    def watch() -> None:
        gevent.sleep(1)
        while CARTS or environment.runner.user_count:
            gevent.sleep(0.1)
        environment.runner.quit()

    gevent.spawn(watch)


def next_cart() -> str:
    if not CARTS:
        raise StopUser()  # this user's last request was answered; the watcher ends the run
    return CARTS.pop()


class Shopper(FastHttpUser):
    wait_time = constant(0)

    @task
    def act(self) -> None:
        getattr(self, SCENARIO)()

    def list(self) -> None:
        self.client.get(f"/api/v1/products?page={random.randint(1, DATA['pages'])}", name="list")

    def detail(self) -> None:
        self.client.get(f"/api/v1/products/{random.choice(DATA['slugs'])}", name="detail")

    def add_to_cart(self) -> None:
        cart = random.choice(CARTS)
        body = {"sku": random.choice(DATA["skus"]), "quantity": 1}
        self.client.post(f"/api/v1/carts/{cart}/lines", json=body, name="add-to-cart")

    def _checkout(self, name: str, refusals: tuple[str, ...] = ()) -> None:
        cart = next_cart()
        body = {
            "cart_id": cart,
            "email": "bench@example.com",
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "payment": {"token": "tok_ok"},
        }
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        with self.client.post("/api/v1/checkout", json=body, headers=headers, name=name, catch_response=True) as r:
            if r.status_code == 201:
                r.success()
            elif r.status_code < 500 and _code(r) in refusals:
                r.success()  # an expected refusal (the flash sale sold out): counted apart by run.py
            else:
                r.failure(f"{r.status_code} {_code(r)}")

    def checkout_spread(self) -> None:
        self._checkout("checkout (spread SKUs)")

    def checkout_hot(self) -> None:
        self._checkout("checkout (one hot SKU)")

    def flash_sale(self) -> None:
        self._checkout("flash sale", refusals=("insufficient_stock",))


def _code(response) -> str:
    try:
        return json.loads(response.text).get("code", "")
    except (ValueError, AttributeError, TypeError):
        return ""
