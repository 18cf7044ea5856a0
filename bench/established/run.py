"""The established shop beside ours: django-oscar 4.2.1 with django-oscar-api 3.3.0, measured the same way.

Issue 24 compares our checkout and cart with "the established Django shop"; this is that harness, so the
figures can be measured again. The shop is a minimal Oscar project (``oscarshop/``: Oscar's documented
apps and middleware, oscar-api's URLs and session middleware, PostgreSQL, anonymous checkout) served by
gunicorn with ``BENCH_WORKERS`` (2) sync workers. Oscar stays out of the shop's own dependencies: this
script installs it into ``.venv-established`` (gitignored) from ``requirements.txt`` (every package
pinned), and runs Oscar's side (``oscarshop/tasks.py``) there; this module itself needs only the standard
library, so ``bench/checkout.py`` can import it and measure both shops in one run::

    from bench.established import run as established
    catalogue = established.prepare(2000)
    with established.start_server() as server:
        cart = established.cart_path(server.base, 400)
        flash = established.flash_sale(server.base)
    queries = established.queries_per_checkout()

Run alone, it prints one table::

    ESTABLISHED_DATABASE_URL=postgres://postgres@127.0.0.1:5432/established_bench \\
        .venv/bin/python bench/established/run.py

What is measured:

1. the cart path: ``ESTABLISHED_PAIRS`` (400) "create a basket and add a line" pairs from
   ``BENCH_CLIENTS`` (16) concurrent clients, each pair a new client (no cookie): ``GET /api/basket/``
   (oscar-api creates the basket and stores it in a new session, whose cookie comes back) then
   ``POST /api/basket/add-product/`` with that cookie, on products spread over the catalogue; pairs/s,
   p50/p99 of a pair;
2. a flash sale: ``ESTABLISHED_FLASH_BUYERS`` (200) buyers, each with a basket of 1 unit of a new product
   holding ``ESTABLISHED_FLASH_UNITS`` (50) in stock, all check out at once (``POST /api/checkout/`` from
   ``ESTABLISHED_FLASH_CLIENTS`` threads, by default one a buyer); orders created, units sold, p50/p99,
   5xx answers and the stock record afterwards (Oscar allocates: ``num_in_stock`` stays, ``num_allocated``
   grows, net = in stock - allocated);
3. statements per checkout: the second of two checkouts through Django's test client in process with
   ``CaptureQueriesContext`` (BEGIN, COMMIT and savepoints included, the session read too), each after its
   basket was made and filled (the first, which also fills the process's caches, is counted as
   ``first_queries``). ``ESTABLISHED_STATEMENTS=1`` prints them.

The checkout is oscar-api's out of the box: guest e-mail, a shipping address, Oscar's default shipping
repository (free shipping) and no payment step (oscar-api places the order with status ``new`` and leaves
payment to a view the project would add). Oscar's catalogue: 2 000 products (``ESTABLISHED_PRODUCTS``) of
one product class that tracks stock, one stock record each (price 10.00 EUR, a partner, ample stock).
``ESTABLISHED_PORT`` (8180) and ``DATABASE_CONN_MAX_AGE`` (0, as the shop's own settings read it) tune the
server; the database is created and migrated if missing, and emptied of Oscar's catalogue, baskets,
orders and sessions by ``prepare``.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = ROOT / ".venv-established"
REQUIREMENTS = HERE / "requirements.txt"

DATABASE_URL = os.environ.get("ESTABLISHED_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/established_bench")
PORT = int(os.environ.get("ESTABLISHED_PORT", "8180"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
PRODUCTS = int(os.environ.get("ESTABLISHED_PRODUCTS", "2000"))
PAIRS = int(os.environ.get("ESTABLISHED_PAIRS", "400"))
FLASH_BUYERS = int(os.environ.get("ESTABLISHED_FLASH_BUYERS", "200"))
FLASH_UNITS = int(os.environ.get("ESTABLISHED_FLASH_UNITS", "50"))
FLASH_CLIENTS = int(os.environ.get("ESTABLISHED_FLASH_CLIENTS", "0"))  # 0: one client a buyer, all at once
TIMEOUT = 120

_catalogue: list[int] = []  # the product ids prepare() made, for cart_path() and queries_per_checkout()


def ensure_venv() -> None:
    """Create .venv-established and install requirements.txt into it when missing or older than the file."""
    stamp = VENV / ".installed"
    if stamp.exists() and stamp.stat().st_mtime >= REQUIREMENTS.stat().st_mtime:
        return
    if not (VENV / "bin/python").exists():
        print(f"==> creating {VENV.relative_to(ROOT)}", file=sys.stderr)
        subprocess.run([os.environ.get("PYTHON", sys.executable), "-m", "venv", str(VENV)], check=True)
    print(f"==> installing django-oscar into {VENV.relative_to(ROOT)} (pinned by {REQUIREMENTS.relative_to(ROOT)})")
    result = subprocess.run(
        [str(VENV / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(
            f"installing {REQUIREMENTS.relative_to(ROOT)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    stamp.touch()


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "ESTABLISHED_DATABASE_URL": DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "oscarshop.settings",
        # oscar-api's order serializer warns that the project has no 'api-payment' view (it has none: no payment step)
        "PYTHONWARNINGS": "ignore::UserWarning",
    }


def _task(*arguments: object) -> dict:
    """Run one command of oscarshop/tasks.py in .venv-established; its last line of output is JSON."""
    ensure_venv()
    command = [str(VENV / "bin/python"), "-m", "oscarshop.tasks", *map(str, arguments)]
    result = subprocess.run(command, cwd=HERE, env=_environment(), capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def prepare(n: int = PRODUCTS) -> list[int]:
    """Create and migrate the database if needed, empty it, and make ``n`` products; returns their ids."""
    _catalogue[:] = _task("setup", n)["products"]
    return list(_catalogue)


@dataclass
class Server:
    process: subprocess.Popen
    base: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_server(port: int = PORT, workers: int = WORKERS) -> Server:
    """gunicorn with ``workers`` sync workers serving the established shop on 127.0.0.1:``port``."""
    ensure_venv()
    command = [
        str(VENV / "bin/gunicorn"), "oscarshop.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=HERE, env=_environment())
    server = Server(process, f"http://127.0.0.1:{port}")
    for _ in range(150):
        time.sleep(0.2)
        if process.poll() is not None:
            sys.exit(f"gunicorn (established shop) exited with {process.returncode}")
        try:
            if _request(server.base, "GET", "/api/")[0] == 200:
                return server
        except OSError:
            continue
    server.stop()
    sys.exit("gunicorn (established shop) did not answer within 30 s")


def _request(base: str, method: str, path: str, body: dict | None = None, cookie: str = "") -> tuple[int, object, str]:
    """One request on a new connection (gunicorn's sync workers close each one). Returns the status, the
    parsed JSON body, and the cookie to send next (``cookie`` updated by any Set-Cookie)."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)
    try:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if cookie:
            headers["Cookie"] = cookie
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = connection.getresponse()
        raw = response.read()
        jar = SimpleCookie(cookie)
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw[:200].decode(errors="replace")
        return response.status, parsed, "; ".join(f"{key}={morsel.value}" for key, morsel in jar.items())
    finally:
        connection.close()


def _new_basket(base: str, product_id: int) -> tuple[str, str]:
    """A new client's basket holding one unit of ``product_id``: (its URL, the client's cookie)."""
    status, basket, cookie = _request(base, "GET", "/api/basket/")
    if status != 200:
        raise RuntimeError(f"GET /api/basket/ answered {status}: {basket}")
    body = {"url": f"{base}/api/products/{product_id}/", "quantity": 1}
    status, answer, cookie = _request(base, "POST", "/api/basket/add-product/", body, cookie)
    if status != 200:
        raise RuntimeError(f"POST /api/basket/add-product/ answered {status}: {answer}")
    return basket["url"], cookie


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _drive(work: list, operation, clients: int) -> tuple[float, list[tuple[float, object]]]:
    """Run ``operation(item)`` for every item from ``clients`` threads started together; returns the wall
    time and, for each item, (seconds, result or the exception)."""
    clients = max(1, min(clients, len(work)))
    start = threading.Barrier(clients)
    results: list[tuple[float, object]] = []
    lock = threading.Lock()

    def client(chunk: list) -> None:
        start.wait()
        for item in chunk:
            began = time.perf_counter()
            try:
                outcome = operation(item)
            except Exception as error:
                outcome = error
            with lock:
                results.append((time.perf_counter() - began, outcome))

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, [work[i::clients] for i in range(clients)]))
    return time.perf_counter() - began, results


def cart_path(base: str, n: int = PAIRS, clients: int = CLIENTS, products: list[int] | None = None) -> dict:
    """``n`` "create a basket and add a line" pairs (GET /api/basket/ then POST /api/basket/add-product/,
    each pair a new cookie-less client) from ``clients`` concurrent clients on products spread over the
    catalogue prepare() made."""
    catalogue = products or _catalogue or list(range(1, PRODUCTS + 1))
    step = max(1, len(catalogue) // max(n, 1))
    work = [catalogue[(i * step) % len(catalogue)] for i in range(n)]
    seconds, results = _drive(work, lambda product_id: _new_basket(base, product_id), clients)
    ok = [elapsed * 1000 for elapsed, outcome in results if not isinstance(outcome, Exception)]
    errors = Counter(str(outcome)[:120] for _, outcome in results if isinstance(outcome, Exception))
    return {
        "pairs": len(ok),
        "clients": clients,
        "seconds": seconds,
        "pairs_per_s": len(ok) / seconds if seconds else 0.0,
        "p50_ms": percentile(ok, 0.50),
        "p99_ms": percentile(ok, 0.99),
        "errors": dict(errors),
        # every pair as (status, seconds), 599 for a failed one: for bench/checkout's tables and ratios
        "results": [(599 if isinstance(outcome, Exception) else 200, elapsed) for elapsed, outcome in results],
    }


def flash_sale(base: str, buyers: int = FLASH_BUYERS, units: int = FLASH_UNITS, clients: int = FLASH_CLIENTS) -> dict:
    """``buyers`` baskets of 1 unit of a new product with ``units`` in stock, then every buyer checks out
    at once (``clients`` threads; 0: one a buyer). Counts answers, orders and the stock afterwards."""
    product = _task("flash", units)["product"]
    _, baskets = _drive([product] * buyers, lambda product_id: _new_basket(base, product_id), CLIENTS)
    failed = [outcome for _, outcome in baskets if isinstance(outcome, Exception)]
    if failed:
        raise RuntimeError(f"{len(failed)} flash-sale baskets could not be filled: {failed[0]}")

    def checkout(basket: tuple[str, str]) -> int:
        url, cookie = basket
        body = {
            "basket": url,
            "guest_email": "bench@example.com",
            "shipping_address": {
                "first_name": "Bench", "last_name": "Buyer", "line1": "Hauptstrasse 1", "line4": "Berlin",
                "postcode": "10115", "country": f"{base}/api/countries/DE/",
            },
        }  # fmt: skip
        return _request(base, "POST", "/api/checkout/", body, cookie)[0]

    seconds, results = _drive([outcome for _, outcome in baskets], checkout, clients or buyers)
    latencies = [elapsed * 1000 for elapsed, _ in results]
    statuses = Counter(outcome if isinstance(outcome, int) else type(outcome).__name__ for _, outcome in results)
    return {
        "buyers": buyers,
        "units": units,
        "clients": clients or buyers,
        "seconds": seconds,
        "statuses": dict(statuses),
        "answered_200": statuses.get(200, 0),
        "server_errors": sum(count for status, count in statuses.items() if isinstance(status, int) and status >= 500),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=0.0),
        # every checkout as (status, seconds), 599 for a request that failed: for bench/checkout
        "results": [(outcome if isinstance(outcome, int) else 599, elapsed) for elapsed, outcome in results],
        **_task("state", product),
    }


def queries_per_checkout(product_id: int | None = None) -> dict:
    """Statements of one checkout (a basket of one line) counted in process: {"queries", "statements"}."""
    return _task("queries", product_id or (_catalogue[0] if _catalogue else 1))


def main() -> None:
    started = time.perf_counter()
    products = prepare(PRODUCTS)
    queries = queries_per_checkout(products[0])
    with start_server() as server:
        cart = cart_path(server.base, PAIRS)
        flash = flash_sale(server.base)
    print(
        f"established shop: django-oscar 4.2.1 + django-oscar-api 3.3.0, gunicorn {WORKERS} sync workers, "
        f"{len(products)} products, PostgreSQL {urlsplit(DATABASE_URL).path.lstrip('/')}"
    )
    print(
        f"  cart path ({cart['pairs']} create+add pairs, {cart['clients']} clients): {cart['pairs_per_s']:7.1f} pairs/s  "
        f"p50 {cart['p50_ms']:6.0f} ms  p99 {cart['p99_ms']:6.0f} ms  errors {cart['errors'] or 0}"
    )
    print(
        f"  flash sale ({flash['buyers']} buyers, {flash['units']} units, {flash['clients']} at once, "
        f"{flash['seconds']:.1f} s): {flash['orders']} orders for {flash['units_sold']} units; answers "
        f"{flash['statuses']}; 5xx {flash['server_errors']}; p50 {flash['p50_ms']:.0f} ms  p99 {flash['p99_ms']:.0f} ms  "
        f"max {flash['max_ms']:.0f} ms; stock afterwards: in stock {flash['num_in_stock']}, allocated "
        f"{flash['num_allocated']}, net {flash['net_stock_level']}"
    )
    print(
        f"  statements per checkout (in process, BEGIN/COMMIT included): {queries['queries']} "
        f"(the process's first checkout: {queries['first_queries']})"
    )
    if os.environ.get("ESTABLISHED_STATEMENTS") == "1":
        for number, statement in enumerate(queries["statements"], 1):
            print(f"    {number:3d} {statement[:150]}")
    print(f"  (run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
