"""The read path over HTTP, side by side with the Django floor (issue 15).

Starts the shop under gunicorn (2 sync workers) on PostgreSQL with a generated catalogue of
``BENCH_PRODUCTS`` products (default 2 000), and in the same run a minimal DRF list and detail over a
one-table copy of the same products (``bench/http/floor/``, never part of the product); drives both
with ApacheBench (``ab``, Debian's ``apache2-utils``) at ``BENCH_CONCURRENCY`` (16) concurrent clients
and prints one table: req/s, p50/p99 latency, database queries per request (counted in process with the
same URL) and the ratio to the floor, for a list page, a category page, a search, a deep page and a
detail; then the shop's worker RSS after warm-up and after every request of the run. Run it on a
database of its own::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_http .venv/bin/python bench/http

Fair by construction, because the machine is shared and noisy:

- **Interleaved rounds.** ``BENCH_ROUNDS`` (5) rounds; in each, every scenario runs ``BENCH_REQUESTS``
  (1 000) requests against the floor and against the shop back to back, the order alternating from round
  to round, so both see the same background load. The table shows the medians over the rounds, and the
  ratio is the median of the per-round ratios (its range in brackets).
- **Both servers as deployed.** They run from ``.venv-runtime`` (gitignored), a virtualenv with only the
  runtime dependencies of ``pyproject.toml`` at ``requirements.lock``'s versions, which is what the
  container installs (``Dockerfile``): no pytest, schemathesis or Playwright and what they drag in (DRF
  imports ``pygments`` and ``requests`` whenever they are installed). Built on first use, rebuilt when the
  lock or ``pyproject.toml`` changes. Both servers' own code is compiled to bytecode before they start, as
  the image compiles the shop's and pip compiles the dependencies': where ``PYTHONDONTWRITEBYTECODE`` is
  set, each worker would otherwise compile every module from source, which leaves ~0.4 MB more in a shop
  worker's heap than reading its bytecode does. (The files go to ``__pycache__`` beside the sources, where
  Python writes them anyway when it may, ignored by git and by the image's build context; not to a
  ``PYTHONPYCACHEPREFIX``, which would hide the dependencies' own compiled files from both servers and cost
  each worker ~3 MB.)

(a directory with ``__main__.py`` rather than ``bench/http.py``: a module named ``http`` beside the other
bench scripts would shadow the standard library's ``http`` for every one of them.)

Its catalogue tables are emptied first.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent  # bench/http: a directory, so it never shadows the standard ``http``
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
# The shop's cache (listing counts, throttles) in a directory of the run's own, removed at its end: not the
# default var/cache, where counts of an earlier run's catalogue would be served and files would be left behind.
_CACHE_DIR = None if os.environ.get("CACHE_URL") else tempfile.mkdtemp(prefix="bench-http-cache-")
if _CACHE_DIR:
    os.environ["CACHE_URL"] = f"file://{_CACHE_DIR}"

PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "2000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
SHOP_PORT = int(os.environ.get("BENCH_SHOP_PORT", "8131"))
FLOOR_PORT = int(os.environ.get("BENCH_FLOOR_PORT", "8132"))
RUNTIME_VENV = ROOT / ".venv-runtime"


def fail(message: str) -> None:
    sys.exit(message)


def runtime_venv() -> Path:
    """``.venv-runtime``: the runtime dependencies only, at the lock's versions (as the Dockerfile installs
    them); built on first use and again when ``pyproject.toml`` or ``requirements.lock`` changes."""
    import tomllib

    stamp = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + (ROOT / "requirements.lock").read_bytes())
    marker = RUNTIME_VENV / ".installed"
    if marker.exists() and marker.read_text() == stamp.hexdigest():
        return RUNTIME_VENV
    print(f"==> building {RUNTIME_VENV} (runtime dependencies at requirements.lock's versions)", flush=True)
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(RUNTIME_VENV)], check=True)
    installed = subprocess.run(
        [str(RUNTIME_VENV / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(ROOT / "requirements.lock"), *dependencies],
        capture_output=True, text=True,
    )  # fmt: skip
    if installed.returncode != 0:
        fail(f"pip could not build {RUNTIME_VENV}:\n{installed.stdout}{installed.stderr}")
    marker.write_text(stamp.hexdigest())
    return RUNTIME_VENV


def prepare() -> dict[str, tuple[str, str]]:
    """Generate and import the catalogue, copy it into the floor's table; the scenarios' (shop, floor) paths."""
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.core.management import call_command
    from django.db import connection

    from contexts.catalogue.demo import generate
    from contexts.catalogue.models import (
        Category,
        ListingEntry,
        ListingPrice,
        ListingRefresh,
        Product,
        ProductImage,
        Variant,
    )
    from contexts.catalogue.services import importing, listing

    call_command("migrate_all", verbosity=0)
    for model in (ListingRefresh, ListingPrice, ListingEntry, ProductImage, Variant, Product):
        model.objects.all().delete()
    for depth in sorted(set(Category.objects.values_list("depth", flat=True)), reverse=True):
        Category.objects.filter(depth=depth).delete()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "http.csv"
        generate.write(path, products=PRODUCTS, sku_prefix=f"H{int(time.time())}")
        importing.import_catalogue(path, workers=2)
    listing.process_refresh_requests()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor_product")
        cursor.execute(
            "CREATE TABLE bench_floor_product AS SELECT product_id AS id, slug, name, category_slug, price_amount, "
            "currency, in_stock, image_url, document->>'description' AS description, document "
            "FROM catalogue_listingentry WHERE price_amount IS NOT NULL"
        )
        cursor.execute("ALTER TABLE bench_floor_product ADD PRIMARY KEY (id)")
        cursor.execute("CREATE UNIQUE INDEX bench_floor_slug ON bench_floor_product (slug)")
        cursor.execute("CREATE INDEX bench_floor_name ON bench_floor_product (name, id)")
        cursor.execute("CREATE INDEX bench_floor_category ON bench_floor_product (category_slug, name, id)")
        # Both tables vacuumed and analysed, as autovacuum keeps a production database (this machine's
        # PostgreSQL runs with autovacuum off): statistics, and a visibility map for index-only scans.
        cursor.execute("VACUUM ANALYZE bench_floor_product")
        cursor.execute(f"VACUUM ANALYZE {ListingEntry._meta.db_table}")
    listed = ListingEntry.objects.filter(price_amount__isnull=False)
    slug = listed.order_by("name").values_list("slug", flat=True)[PRODUCTS // 3]
    category = listed.values_list("category_slug", flat=True).order_by("category_slug").first()
    deep = max(listed.count() // 24 - 1, 1)
    return {
        "list, 24 a page": ("/api/v1/products", "/products"),
        "category page": (f"/api/v1/products?category={category}", f"/products?category={category}"),
        "search": ("/api/v1/products?q=shirt&ordering=name", "/products?q=shirt"),
        f"deep page ({deep})": (f"/api/v1/products?page={deep}", f"/products?page={deep}"),
        "detail": (f"/api/v1/products/{slug}", f"/products/{slug}"),
    }


def shop_queries(paths: list[str]) -> list[float]:
    """Database queries of one request to each path, after a first one (the warm state), in process."""
    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    counts = []
    for path in paths:
        client.get(path)
        captures = [CaptureQueriesContext(connections[alias]) for alias in settings.DATABASES]
        for capture in captures:
            capture.__enter__()
        response = client.get(path)
        for capture in captures:
            capture.__exit__(None, None, None)
        assert response.status_code == 200, (path, response.status_code)
        counts.append(float(sum(len(capture.captured_queries) for capture in captures)))
    return counts


def floor_queries(paths: list[str]) -> list[float]:
    """The same count for the floor, in a process of its own (its own settings)."""
    output = subprocess.run(
        [sys.executable, str(HERE), "--floor-queries", *paths],
        cwd=HERE,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "floor.settings", "PYTHONPATH": str(HERE)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _floor_queries_main(paths: list[str]) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    counts = []
    for path in paths:
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts.append(float(len(captured.captured_queries)))
    print(json.dumps(counts))


def start(name: str, app: str, port: int, *, venv: Path, chdir: Path, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(venv / "bin/gunicorn"),
            app,
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(chdir),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(tempfile.gettempdir()) / f"bench-http-{name}.log", "w"),  # noqa: SIM115
        start_new_session=True,
    )
    return process


def wait_ready(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"the server for {url} stopped (see {tempfile.gettempdir()}/bench-http-*.log)")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    fail(f"{url} did not answer within 60 s")


def ab(url: str, requests: int) -> tuple[float, float, float]:
    """req/s, p50 and p99 in ms, from ApacheBench."""
    result = subprocess.run(
        ["ab", "-q", "-n", str(requests), "-c", str(CONCURRENCY), url], capture_output=True, text=True, check=True
    ).stdout
    if re.search(r"Non-2xx responses:\s+(\d+)", result) or re.search(r"Failed requests:\s+[1-9]", result):
        fail(f"errors while benchmarking {url}:\n{result}")
    rate = float(re.search(r"Requests per second:\s+([\d.]+)", result).group(1))
    p50 = float(re.search(r"\n\s+50%\s+(\d+)", result).group(1))
    p99 = float(re.search(r"\n\s+99%\s+(\d+)", result).group(1))
    return rate, p50, p99


def worker_rss_mib(master: subprocess.Popen) -> list[float]:
    children = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return sorted(sizes)


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or os.environ.get("DATABASE_SPLIT"):
        fail(
            "Set DATABASE_URL to a PostgreSQL database (not split), e.g. postgres://postgres@127.0.0.1:5432/commerce_http"
        )
    if shutil.which("ab") is None:
        fail("ApacheBench is needed: apt-get install apache2-utils")
    scenarios = prepare()
    ours_q = shop_queries([shop for shop, _ in scenarios.values()])
    floor_q = floor_queries([floor for _, floor in scenarios.values()])
    venv = runtime_venv()
    env = {**os.environ, "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING", "EVENTBUS_DISPATCH": "inline"}
    subprocess.run(
        [str(venv / "bin/python"), "-m", "compileall", "-q", str(ROOT / "commerce"), str(ROOT / "contexts"), str(HERE)],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    shop = start(
        "shop", "commerce.wsgi:application", SHOP_PORT, venv=venv, chdir=ROOT, env={**env, "PYTHONPATH": str(ROOT)}
    )
    floor = start(
        "floor",
        "floor.wsgi:application",
        FLOOR_PORT,
        venv=venv,
        chdir=HERE,
        env={**env, "DJANGO_SETTINGS_MODULE": "floor.settings", "PYTHONPATH": str(HERE)},
    )
    runs: dict[str, dict[str, list[tuple[float, float, float]]]] = {
        label: {"shop": [], "floor": []} for label in scenarios
    }
    try:
        wait_ready(f"http://127.0.0.1:{SHOP_PORT}/api/v1/products", shop)
        wait_ready(f"http://127.0.0.1:{FLOOR_PORT}/products", floor)
        for shop_path, floor_path in scenarios.values():  # warm-up: imports, connections, caches
            ab(f"http://127.0.0.1:{SHOP_PORT}{shop_path}", 200)
            ab(f"http://127.0.0.1:{FLOOR_PORT}{floor_path}", 200)
        warm_rss = worker_rss_mib(shop)
        urls = {"shop": f"http://127.0.0.1:{SHOP_PORT}", "floor": f"http://127.0.0.1:{FLOOR_PORT}"}
        total = 0
        for round_ in range(ROUNDS):
            order = ("floor", "shop") if round_ % 2 == 0 else ("shop", "floor")
            for label, (shop_path, floor_path) in scenarios.items():
                for system in order:
                    path = shop_path if system == "shop" else floor_path
                    runs[label][system].append(ab(urls[system] + path, REQUESTS))
                total += REQUESTS
            print(f"round {round_ + 1}/{ROUNDS} done", file=sys.stderr, flush=True)
        final_rss = worker_rss_mib(shop)
        floor_rss = worker_rss_mib(floor)
    finally:
        for process in (shop, floor):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        if _CACHE_DIR:
            shutil.rmtree(_CACHE_DIR, ignore_errors=True)
    print(
        f"{PRODUCTS} products; gunicorn, 2 sync workers each, from {venv.name} (runtime dependencies only); "
        f"PostgreSQL; ab -c {CONCURRENCY}; {ROUNDS} interleaved rounds of {REQUESTS} requests per scenario and "
        "system; medians over the rounds"
    )
    print(
        f"{'request':18} | {'shop req/s':>10} | {'p50/p99 ms':>10} | {'queries':>7} | "
        f"{'floor req/s':>11} | {'p50/p99 ms':>10} | {'queries':>7} | {'ratio (range)':>17}"
    )
    print("-" * 112)
    for (label, systems), ours_queries, floor_queries_ in zip(runs.items(), ours_q, floor_q, strict=True):
        ratios = [ours[0] / theirs[0] for ours, theirs in zip(systems["shop"], systems["floor"], strict=True)]
        shop_rate, shop_p50, shop_p99 = (statistics.median(column) for column in zip(*systems["shop"], strict=True))
        floor_rate, floor_p50, floor_p99 = (statistics.median(column) for column in zip(*systems["floor"], strict=True))
        print(
            f"{label:18} | {shop_rate:10.0f} | {f'{shop_p50:.0f}/{shop_p99:.0f}':>10} | {ours_queries:7.1f} | "
            f"{floor_rate:11.0f} | {f'{floor_p50:.0f}/{floor_p99:.0f}':>10} | {floor_queries_:7.1f} | "
            f"{statistics.median(ratios):5.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        )
    print(
        f"shop worker RSS (MiB): after warm-up {', '.join(f'{m:.1f}' for m in warm_rss)}; "
        f"after {total} more requests {', '.join(f'{m:.1f}' for m in final_rss)}; "
        f"floor workers {', '.join(f'{m:.1f}' for m in floor_rss)}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--floor-queries":
        _floor_queries_main(sys.argv[2:])
    else:
        main()
