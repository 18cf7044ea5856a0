"""The one benchmark: the shop under gunicorn on PostgreSQL with a Celery worker, driven by Locust.

Started by ``bin/bench`` (which makes the load generator's environment, ``.venv-bench``); runs in the
shop's environment. It

1. migrates the bench database (``BENCH_DATABASE_URL``, created if missing) and adds a catalogue of
   ``BENCH_SKUS`` products with stock and prices, a hot SKU and a flash-sale SKU (``bench/checkout``'s
   ``setup_shop``), and the carts the cart and checkout scenarios use (made in process, before the clock);
2. starts a Celery worker (``CELERY_BROKER_URL``, Redis) and gunicorn (``BENCH_WORKERS`` workers, the
   run command's configuration) with ``EVENTBUS_DISPATCH=celery``;
3. runs Locust headless once a scenario (``BENCH_USERS`` clients for ``BENCH_SECONDS``, or until the
   scenario's carts are used up): list, detail, add-to-cart, checkout on spread SKUs, checkout on one
   hot SKU, then the flash sale (``BENCH_FLASH_BUYERS`` buyers for ``BENCH_FLASH_UNITS`` units);
4. prints one table and the flash-sale verdict, checked against the database.

Where each figure comes from:
- requests/s and p50/p95/p99: every request Locust timed (its ``request`` event), the count divided
  by the time from the first request's start to the last one's end;
- queries/request: ``django_db_execute_total`` over the requests the workers counted, both from the
  shop's ``/metrics`` (django-prometheus, summed over the workers) before and after the scenario,
  less what the scrape itself costs;
- events/s: event deliveries marked delivered (``Delivery.delivered_at``) from the scenario's start
  until the outbox is empty again, divided by that time;
- peak RSS: the highest resident set size of any gunicorn worker during the scenario (sampled from
  ``/proc`` every 0.2 s); the Celery worker's peak (``VmHWM``) is printed under the table.

``BENCH_SMOKE=1`` makes it a short check for CI: few clients and seconds, a small flash sale, and a
non-zero exit when the verdict is wrong (an oversell, a 5xx, a capture without its order, …).
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SMOKE = os.environ.get("BENCH_SMOKE", "") not in ("", "0")
SECONDS = float(os.environ.get("BENCH_SECONDS") or (3 if SMOKE else 20))
USERS = int(os.environ.get("BENCH_USERS") or (4 if SMOKE else 16))
WORKERS = int(os.environ.get("BENCH_WORKERS") or 2)
PORT = int(os.environ.get("BENCH_PORT") or 8160)
SKUS = int(os.environ.get("BENCH_SKUS") or (8 if SMOKE else 64))
CHECKOUTS = int(os.environ.get("BENCH_CHECKOUTS") or (16 if SMOKE else 200))
FLASH_UNITS = int(os.environ.get("BENCH_FLASH_UNITS") or (8 if SMOKE else 50))
FLASH_BUYERS = int(os.environ.get("BENCH_FLASH_BUYERS") or (24 if SMOKE else 200))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/commerce_bench"
BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/3"
LOCUST = Path(os.environ.get("BENCH_LOCUST") or ROOT / ".venv-bench/bin/locust")
TOKEN = "bench-scrape-token"
BASE = f"http://127.0.0.1:{PORT}"

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "commerce.settings",
        "DATABASE_URL": DATABASE_URL,
        "DATABASE_SPLIT": "0",
        "EVENTBUS_DISPATCH": "inline",  # this process's own set-up; the servers below use Celery
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "ERROR",
    }
)
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
os.environ["BENCH_SKUS"] = str(SKUS)  # read by bench/checkout's setup_shop

SCENARIOS = (
    ("list", "list"),
    ("detail", "detail"),
    ("add_to_cart", "add-to-cart"),
    ("checkout_spread", "checkout (spread SKUs)"),
    ("checkout_hot", "checkout (one hot SKU)"),
)


# --- Set-up ---------------------------------------------------------------------------------------


def prepare() -> dict:
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command

    from bench.checkout import carts_for, setup_shop
    from contexts.cart import api as cart_api

    call_command("migrate_all", verbosity=0)
    prefix = f"LB{int(time.time())}"
    spread, hot, flash = setup_shop(prefix)
    if FLASH_UNITS != 50:
        from contexts.inventory import api as inventory_api

        inventory_api.set_stock_level(sku=flash, warehouse_code="BENCH", on_hand=FLASH_UNITS, reference=prefix)
    add_carts = [str(cart_api.create_cart(customer_id=None, currency="EUR").cart.id) for _ in range(max(USERS * 4, 40))]
    data = {
        "prefix": prefix,
        "skus": spread,
        "slugs": [sku.lower() for sku in spread],
        "hot": hot,
        "flash": flash,
        "carts": {
            "add_to_cart": add_carts,
            "checkout_spread": carts_for([spread[i % len(spread)] for i in range(CHECKOUTS)]),
            "checkout_hot": carts_for([hot] * CHECKOUTS),
            "flash_sale": carts_for([flash] * FLASH_BUYERS),
        },
    }
    from contexts.catalogue.models import ListingEntry

    data["pages"] = max(1, min(10, ListingEntry.objects.count() // 24))
    from django.db import connections

    connections.close_all()
    return data


# --- Processes ------------------------------------------------------------------------------------


def server_environment(metrics_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "EVENTBUS_DISPATCH": "celery",
        "CELERY_BROKER_URL": BROKER_URL,
        "PORT": str(PORT),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(WORKERS),
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
    }


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(check, what: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    sys.exit(f"{what} did not start within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def http_get(path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(BASE + path, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def memory_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakSampler(threading.Thread):
    """The highest RSS of any gunicorn worker since the last ``reset``, sampled every 0.2 s."""

    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master, self.peak, self.running = master, 0, True

    def reset(self) -> None:
        self.peak = 0

    def run(self) -> None:
        while self.running:
            for pid in children(self.master):
                self.peak = max(self.peak, memory_kib(pid, "VmRSS"))
            time.sleep(0.2)


# --- Figures --------------------------------------------------------------------------------------


def scrape() -> tuple[float, float]:
    """(database queries, requests other than the scrapes) counted by every gunicorn worker so far."""
    from prometheus_client.parser import text_string_to_metric_families

    _, body = http_get("/metrics", {"Authorization": f"Bearer {TOKEN}"})
    queries = requests = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "django_db_execute_total":
                queries += sample.value
            elif (
                sample.name == "django_http_requests_total_by_view_transport_method_total"
                and sample.labels.get("view") != "metrics"
            ):
                requests += sample.value
    return queries, requests


def delivered_since(started):
    """How many deliveries were made since ``started``, and when the last one was."""
    from django.db.models import Count, Max

    from commerce.database import context_aliases
    from commerce.eventbus.models import Delivery

    count, last = 0, started
    for alias in context_aliases():
        found = (
            Delivery.objects.using(alias)
            .filter(status=Delivery.Status.DELIVERED, delivered_at__gte=started)
            .aggregate(n=Count("id"), last=Max("delivered_at"))
        )
        count += found["n"]
        last = max(last, found["last"] or started)
    return count, last


def backlog() -> int:
    from commerce.database import context_aliases
    from commerce.eventbus.models import Delivery

    return sum(
        Delivery.objects.using(alias).filter(status__in=(Delivery.Status.PENDING, Delivery.Status.FAILED)).count()
        for alias in context_aliases()
    )


def drain(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while backlog() and time.monotonic() < deadline:
        time.sleep(0.25)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run_locust(scenario: str, data_path: Path, scratch: Path, seconds: float) -> tuple[list, str]:
    out = scratch / f"{scenario}.json"
    command = [
        str(LOCUST), "-f", str(ROOT / "bench/load/locustfile.py"), "--headless", "--only-summary",
        "-u", str(USERS), "-r", str(USERS), "-t", f"{int(seconds)}s", "-H", BASE,
        "--stop-timeout", "30", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {"BENCH_SCENARIO": scenario, "BENCH_DATA": str(data_path), "BENCH_OUT": str(out)}
    result = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=seconds + 300
    )
    if not out.exists():
        sys.exit(f"locust ({scenario}) wrote no results:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    shown = [str(Path(part).relative_to(ROOT)) if part.startswith(str(ROOT)) else part for part in command]
    return json.loads(out.read_text()), f"BENCH_SCENARIO={scenario} {shlex.join(shown)}"


def measure(scenario: str, name: str, data_path: Path, scratch: Path, sampler: PeakSampler, scrape_cost: float):
    from django.utils import timezone

    queries_before, requests_before = scrape()
    sampler.reset()
    started = timezone.now()
    seconds = SECONDS if not scenario.startswith(("checkout", "flash")) else max(SECONDS, 600)
    records, command = run_locust(scenario, data_path, scratch, seconds)
    peak = sampler.peak
    queries_after, requests_after = scrape()
    drain()
    delivered, last = delivered_since(started)
    events_per_second = delivered / max((last - started).total_seconds(), 1e-9) if delivered else 0.0
    timed = [r for r in records if r[0] == name]
    latencies = [r[4] for r in timed]
    span = (max(r[3] + r[4] / 1000 for r in timed) - min(r[3] for r in timed)) if timed else 0
    served = max(requests_after - requests_before, 1)  # the scrapes themselves are not counted
    row = {
        "name": name,
        "requests": len(timed),
        "rps": len(timed) / span if span else 0.0,
        "p50": percentile(latencies, 0.50),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "queries": (queries_after - queries_before - scrape_cost) / served,
        "events": events_per_second,
        "peak_mib": peak / 1024,
        "statuses": Counter((r[1], r[2]) for r in timed),
        "command": command,
    }
    return row, records


def flash_verdict(data: dict, records: list, started) -> tuple[list[str], bool]:
    from contexts.inventory import api as inventory_api
    from contexts.inventory import selectors as inventory_selectors
    from contexts.inventory.models import StockLevel
    from contexts.orders.models import GatewayCharge, Order, OrderLine

    flash = data["flash"]
    statuses = Counter(r[1] for r in records if r[0] == "flash sale")
    codes = Counter(r[2] for r in records if r[0] == "flash sale" and r[1] != 201)
    answered_201 = statuses.get(201, 0)
    refused = codes.get("insufficient_stock", 0)
    errors_5xx = sum(n for status, n in statuses.items() if status >= 500 or status == 0)
    other = {f"{s}": n for s, n in statuses.items() if s not in (201,) and s < 500 and s != 409}
    confirmed = Order.objects.filter(lines__sku=flash, status="confirmed").distinct()
    sold = sum(OrderLine.objects.filter(order__in=confirmed, sku=flash).values_list("quantity", flat=True))
    failed = Order.objects.filter(lines__sku=flash, status="failed", saga__failure_code="insufficient_stock").count()
    pending = Order.objects.filter(lines__sku=flash, status="pending").count()
    captures = GatewayCharge.objects.filter(status="captured", created_at__gte=started).count()
    confirmed_ids = {str(pk) for pk in confirmed.values_list("pk", flat=True)}
    captured_for_flash = GatewayCharge.objects.filter(
        status="captured", idempotency_key__in=[f"order:{pk}" for pk in confirmed_ids]
    ).count()
    available = inventory_api.get_availability(skus=[flash])[flash].available
    negative = (
        StockLevel.objects.filter(on_hand__lt=0).exists()
        or StockLevel.objects.filter(sku=flash, allocated__gt=FLASH_UNITS).exists()
    )
    oversell = sold > FLASH_UNITS or negative
    mismatches = len(inventory_selectors.ledger_mismatches())
    lines = [
        f"flash sale: {FLASH_BUYERS} buyers, {FLASH_UNITS} units of {flash}",
        f"  orders confirmed: {confirmed.count()} (201 answers: {answered_201}); units sold {sold}; "
        f"available now {available}",
        f"  refusals: {refused} insufficient_stock answers, {failed} failed orders in the database; "
        f"other answers {other or 'none'}; pending orders {pending}",
        f"  5xx: {errors_5xx}; oversell: {'YES' if oversell else 'none'}; ledger mismatches: {mismatches}",
        f"  captures: {captured_for_flash} for the {confirmed.count()} confirmed flash-sale orders "
        f"({captures} captures in the whole run)",
    ]
    ok = (
        sold == FLASH_UNITS
        and confirmed.count() == answered_201 == FLASH_UNITS
        and refused == failed == FLASH_BUYERS - FLASH_UNITS
        and errors_5xx == 0
        and not oversell
        and not pending
        and mismatches == 0
        and captured_for_flash == confirmed.count()
        and available == 0
    )
    lines.append(f"  verdict: {'OK' if ok else 'WRONG'}")
    return lines, ok


def main() -> int:
    if not LOCUST.exists():
        sys.exit(f"{LOCUST} is missing: run bin/bench, which makes .venv-bench from bench/load/requirements.txt")
    scratch = Path(tempfile.mkdtemp(prefix="commerce-bench-"))
    print(f"bench: preparing {DATABASE_URL.rsplit('/', 1)[-1]} ({'smoke' if SMOKE else 'full'} run)", flush=True)
    data = prepare()
    data_path = scratch / "data.json"
    data_path.write_text(json.dumps(data))
    metrics_dir = scratch / "prometheus"
    metrics_dir.mkdir()
    env = server_environment(str(metrics_dir))
    worker_env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}  # only the web counts queries
    worker_log, web_log = scratch / "celery.log", scratch / "gunicorn.log"
    python = sys.executable
    worker = start(
        [python, "-m", "celery", "-A", "commerce", "worker", "--concurrency=2", "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "-n", f"bench-{os.getpid()}@%h"],
        worker_env, worker_log,
    )  # fmt: skip
    web = start([python, "-m", "gunicorn", "-c", "python:commerce.gunicorn_conf", "commerce.wsgi"], env, web_log)
    ok = True
    try:
        wait_for(lambda: http_get("/health/live")[0] == 200, "gunicorn", web, web_log)
        wait_for(lambda: "ready" in worker_log.read_text() or backlog() == 0, "celery", worker, worker_log)
        sampler = PeakSampler(web.pid)
        sampler.start()
        # Every worker answers once before measuring (each loads the application after its fork).
        for _ in range(WORKERS * 4):
            http_get("/api/v1/products")
        first, _ = scrape()
        second, _ = scrape()
        scrape_cost = second - first
        from django.utils import timezone

        run_started = timezone.now()
        rows = []
        for scenario, name in SCENARIOS:
            print(f"bench: {name} …", flush=True)
            row, _ = measure(scenario, name, data_path, scratch, sampler, scrape_cost)
            rows.append(row)
        print("bench: flash sale …", flush=True)
        flash_row, flash_records = measure("flash_sale", "flash sale", data_path, scratch, sampler, scrape_cost)
        rows.append(flash_row)
        celery_peak = max([memory_kib(pid, "VmHWM") for pid in [worker.pid, *children(worker.pid)]] or [0])
        verdict, ok = flash_verdict(data, flash_records, run_started)
        web_errors = sum(n for row in rows for (status, _), n in row["statuses"].items() if status >= 500 or not status)
        print_table(rows, celery_peak)
        print("\n".join(verdict))
        if web_errors:
            print(f"5xx or no answer over the whole run: {web_errors}")
            ok = False
        print("commands:")
        print(f"  {shlex.join(['bin/bench'])} with " + shown_settings())
        for row in rows:
            print(f"  {row['name']}: {row['command']}")
        print("load: " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    finally:
        stop(web)
        stop(worker)
        if not ok:
            print(f"logs kept in {scratch}", file=sys.stderr)
        else:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
    return 0 if ok else 1


def shown_settings() -> str:
    names = ("BENCH_SMOKE", "BENCH_SECONDS", "BENCH_USERS", "BENCH_WORKERS", "BENCH_SKUS", "BENCH_CHECKOUTS",
             "BENCH_FLASH_BUYERS", "BENCH_FLASH_UNITS", "BENCH_PORT")  # fmt: skip
    values = {
        "BENCH_SMOKE": "1" if SMOKE else "0", "BENCH_SECONDS": SECONDS, "BENCH_USERS": USERS,
        "BENCH_WORKERS": WORKERS, "BENCH_SKUS": SKUS, "BENCH_CHECKOUTS": CHECKOUTS, "BENCH_FLASH_BUYERS": FLASH_BUYERS,
        "BENCH_FLASH_UNITS": FLASH_UNITS, "BENCH_PORT": PORT,
    }  # fmt: skip
    return " ".join(f"{name}={values[name]}" for name in names) + f" CELERY_BROKER_URL={BROKER_URL}"


def print_table(rows: list[dict], celery_peak_kib: int) -> None:
    print()
    print(
        f"gunicorn {WORKERS} sync workers + Celery worker (2 processes), PostgreSQL, Redis broker; "
        f"{USERS} Locust clients"
    )
    header = (
        f"| {'scenario':<22} | {'requests':>8} | {'req/s':>7} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} "
        f"| {'queries/req':>11} | {'events/s':>8} | {'peak RSS/worker MiB':>19} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for row in rows:
        print(
            f"| {row['name']:<22} | {row['requests']:>8} | {row['rps']:>7.1f} | {row['p50']:>7.0f} | {row['p95']:>7.0f} "
            f"| {row['p99']:>7.0f} | {row['queries']:>11.1f} | {row['events']:>8.1f} | {row['peak_mib']:>19.0f} |"
        )
    print(f"Celery worker peak RSS (VmHWM, largest process): {celery_peak_kib / 1024:.0f} MiB")
    statuses = {row["name"]: dict(row["statuses"]) for row in rows}
    print("answers by (status, code): " + "; ".join(f"{n}: {s}" for n, s in statuses.items()))


if __name__ == "__main__":
    sys.exit(main())
