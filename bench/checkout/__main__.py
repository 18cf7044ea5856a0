"""Run the checkout benchmark (``.venv/bin/python bench/checkout``): see ``bench/checkout/__init__.py``."""

import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")  # mail goes nowhere
os.environ.setdefault("LOG_LEVEL", "ERROR")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")  # every server keeps its connections, as deployed

from bench.checkout._servers import ROOT, Baseline, Server, database_url, fail
from bench.checkout._shop import body
from bench.checkout.cart_path import cart_path
from bench.checkout.drive import Run, median, request, run_clients

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
CHECKOUTS = int(os.environ.get("BENCH_CHECKOUTS", "400"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PORT = int(os.environ.get("BENCH_PORT", "8151"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
FLASH_BUYERS = int(os.environ.get("BENCH_FLASH_BUYERS", "200"))
FLASH_UNITS = int(os.environ.get("BENCH_FLASH_UNITS", "50"))
CART_PAIRS = int(os.environ.get("BENCH_CART_PAIRS", str(CHECKOUTS)))
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "2000"))  # each shop's catalogue, for the cart path
BASELINE = os.environ.get("BENCH_BASELINE", "33fedac")
ESTABLISHED = os.environ.get("BENCH_ESTABLISHED", "1") == "1"
ESTABLISHED_PORT = int(os.environ.get("ESTABLISHED_PORT", str(PORT + 3)))
WARM = 8
ESTAB = "estab"  # the established shop's name in the tables: django-oscar with django-oscar-api


def spread_over(items: list, count: int) -> list:
    """``count`` items taken evenly over ``items``, as the established shop's cart path takes its products."""
    step = max(1, len(items) // max(count, 1))
    return [items[(i * step) % len(items)] for i in range(count)]


def as_run(figures: dict) -> Run:
    """The established shop's ``cart_path`` or ``flash_sale`` answer as a ``Run`` (the same percentiles)."""
    return Run(seconds=figures["seconds"], results=[(status, seconds, None) for status, seconds in figures["results"]])


def checkout(server: Server):
    def post(cart_id: str) -> tuple[int, object]:
        path = "/checkout" if server.is_floor else "/api/v1/checkout"
        answer = request("POST", server.base + path, body(cart_id), {"Idempotency-Key": uuid.uuid4().hex})
        return answer.status, answer.body

    return post


def ratio(label: str, values: list[float], target: str = "") -> None:
    if not values:
        return
    print(
        f"  {label:<34} {median(values):5.2f}   rounds: {'  '.join(f'{v:.2f}' for v in values)}"
        + (f"   {target}" if target.startswith("(") else f"   target {target}" if target else "")
    )


def flash_verdict(run: Run, report: dict, sku: str) -> tuple[bool, str]:
    codes = run.codes()
    flash = report["flash"][sku]
    exact = (
        run.statuses.get(201, 0) == FLASH_UNITS == flash["confirmed"]
        and codes.get("insufficient_stock", 0) == FLASH_BUYERS - FLASH_UNITS
        and run.server_errors == 0
        and flash["available"] == 0
    )
    return exact, (
        f"{run.statuses.get(201, 0)} confirmed ({flash['confirmed']} orders), "
        f"{codes.get('insufficient_stock', 0)} insufficient_stock, {run.server_errors} 5xx, "
        f"other refusals { ({code: n for code, n in codes.items() if code != 'insufficient_stock'}) }, "
        f"{flash['available']} left"
    )


def main() -> None:
    if os.environ.get("BENCH_PROFILE") == "1":  # where one checkout's time goes, in process: profiling.py
        from bench.checkout import profiling

        return profiling.main()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        fail("set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/commerce_bench")
    baseline = None if BASELINE.lower() in ("", "none") else Baseline(BASELINE)
    servers = [
        *([Server("old", baseline.path, database_url(url, "baseline"), PORT + 1)] if baseline else []),
        Server("new", ROOT, url, PORT),
        Server("floor", None, database_url(url, "floor"), PORT + 2),
    ]
    databases = ", ".join(f"{server.name} on {server.database.rsplit('/', 1)[-1]}" for server in servers)
    oscar = None
    if ESTABLISHED:
        from bench.established import run as oscar

        oscar.DATABASE_URL = os.environ.get("ESTABLISHED_DATABASE_URL") or database_url(url, "established")
        databases += f", {ESTAB} (django-oscar 4.2.1 + oscar-api 3.3.0) on {oscar.DATABASE_URL.rsplit('/', 1)[-1]}"
    print(
        f"checkout bench: {databases}; "
        f"baseline {baseline.commit[:10] if baseline else 'none'}; gunicorn {WORKERS} sync workers each; "
        f"{CLIENTS} clients for every scenario and shop; {CHECKOUTS} checkouts and {CART_PAIRS} cart pairs per "
        f"scenario, {FLASH_BUYERS} buyers for {FLASH_UNITS} units; {PRODUCTS} products a shop; {ROUNDS} "
        "interleaved rounds",
        flush=True,
    )
    try:
        runs, prepared, reports = measure(servers, oscar)
    finally:
        if baseline:
            baseline.remove()
    wrong = print_results([server for server in servers if not server.is_floor], runs, prepared, reports)
    sys.exit(1 if wrong else 0)


def measure(servers: list[Server], oscar=None) -> tuple[dict[tuple[str, str], list[Run]], dict, dict]:
    """Migrate, make every cart, start the servers, run the interleaved rounds, stop them, read the verdicts:
    (runs by (scenario, server), what each shop's ``prepare`` gave, what each shop's ``report`` gave).
    ``oscar``: ``bench.established.run`` when the established shop takes part (cart path and flash sale), its
    figures under the name ``estab`` (its ``prepare`` the catalogue and statements per checkout, its
    ``report`` the flash sales' outcomes)."""
    shops = [server for server in servers if not server.is_floor]
    runs: dict[tuple[str, str], list[Run]] = {}
    prepared: dict[str, dict] = {}
    reports: dict[str, dict] = {}
    for server in servers:
        server.migrate()
    if oscar:
        began = time.perf_counter()
        catalogue = oscar.prepare(PRODUCTS)
        counted = oscar.queries_per_checkout(catalogue[0])
        prepared[ESTAB] = {
            "catalogue": spread_over(catalogue, CART_PAIRS),
            "products": len(catalogue),
            "queries_per_checkout": counted["queries"],
            "queries_first_checkout": counted.get("first_queries"),
        }
        reports[ESTAB] = {"flash": []}
        print(f"  {ESTAB}: shop made in {time.perf_counter() - began:.0f} s", flush=True)
    spec = {"rounds": ROUNDS, "checkouts": CHECKOUTS, "warm": WARM, "products": PRODUCTS}
    spec |= {"flash_buyers": FLASH_BUYERS, "flash_units": FLASH_UNITS, "prefix": f"CB{int(time.time())}"}
    for server in shops:
        prepared[server.name] = server.shop("prepare", spec)
        if Path(prepared[server.name]["code"]) != server.tree.resolve():
            fail(f"the {server.name} shop's carts were made by the code in {prepared[server.name]['code']}")
        print(f"  {server.name}: shop and carts made in {prepared[server.name]['seconds']:.0f} s", flush=True)
    estab = None
    try:
        for server in servers:
            server.start(WORKERS)
        for server in servers:  # warm-up: imports, connections
            server.wait_ready()
            warm = prepared[server.name]["warm"] if server in shops else [str(uuid.uuid4()) for _ in range(WARM)]
            run_clients(min(4, CLIENTS), warm, checkout(server))
        if oscar:
            estab = oscar.start_server(port=ESTABLISHED_PORT, workers=WORKERS)
            oscar.cart_path(estab.base, WARM, clients=min(4, CLIENTS), products=prepared[ESTAB]["catalogue"])
        for n in range(ROUNDS):
            order = servers if n % 2 == 0 else servers[::-1]
            for server in order:
                carts = prepared[server.name]["rounds"][n]["spread"] if server in shops else None
                carts = carts or [str(uuid.uuid4()) for _ in range(CHECKOUTS)]
                runs.setdefault(("spread", server.name), []).append(run_clients(CLIENTS, carts, checkout(server)))
            systems = [s for s in order if s in shops]
            if estab:  # last in the even rounds, first in the odd ones, as the floor
                systems = [*systems, estab] if n % 2 == 0 else [estab, *systems]
            for scenario in ("hot", "flash", "cart"):
                for system in systems:
                    if system is estab:
                        if scenario == "hot":
                            continue
                        figures = (
                            oscar.flash_sale(estab.base, buyers=FLASH_BUYERS, units=FLASH_UNITS, clients=CLIENTS)
                            if scenario == "flash"
                            else oscar.cart_path(
                                estab.base, CART_PAIRS, clients=CLIENTS, products=prepared[ESTAB]["catalogue"]
                            )
                        )
                        runs.setdefault((scenario, ESTAB), []).append(as_run(figures))
                        if scenario == "flash":
                            reports[ESTAB]["flash"].append(figures)
                    elif scenario == "cart":
                        skus = spread_over(prepared[system.name]["catalogue_skus"], CART_PAIRS)
                        runs.setdefault(("cart", system.name), []).append(
                            cart_path(system.base, skus=skus, pairs=CART_PAIRS, clients=CLIENTS)
                        )
                    else:
                        carts = prepared[system.name]["rounds"][n][scenario]
                        runs.setdefault((scenario, system.name), []).append(
                            run_clients(CLIENTS, carts, checkout(system))
                        )
            names = ", ".join(s.name for s in order) + (
                f"; {ESTAB} {'last' if n % 2 == 0 else 'first'}" if estab else ""
            )
            print(f"  round {n + 1}/{ROUNDS} done ({names})", flush=True)
    finally:
        for server in servers:
            server.stop()
        if estab:
            estab.stop()
    for server in shops:
        reports[server.name] = server.shop("report", {**spec, **prepared[server.name]})
    return runs, prepared, reports


def print_results(shops: list[Server], runs: dict, prepared: dict, reports: dict) -> bool:
    names = [server.name for server in shops]
    oscar = [ESTAB] if ESTAB in prepared else []
    print(
        f"\nmedians over the rounds (checkouts/s or pairs/s; latency in ms; {CLIENTS} clients each; catalogue: "
        + ", ".join(f"{name} {prepared[name]['products']} products" for name in [*names, *oscar])
        + "):"
    )
    for scenario, label, systems in (
        ("spread", "spread checkouts", [*names, "floor"]),
        ("hot", "hot SKU checkouts", names),
        ("flash", "flash sale", [*names, *oscar]),
        ("cart", "cart: create + add", [*names, *oscar]),
    ):
        for name in systems:
            rounds = runs[(scenario, name)]
            print(
                f"  {label:<19} {name:<5} {median([r.rate for r in rounds]):8.1f}/s  "
                f"p50 {median([r.latency_ms(0.5) for r in rounds]):6.0f}  "
                f"p95 {median([r.latency_ms(0.95) for r in rounds]):6.0f}  "
                f"p99 {median([r.latency_ms(0.99) for r in rounds]):6.0f}  "
                f"max {median([r.max_ms for r in rounds]):6.0f}"
            )
    print("\nflash sale verdicts (per round):")
    wrong = False
    for name in names:
        report = reports[name]
        for n, (run, sku) in enumerate(zip(runs[("flash", name)], prepared[name]["flash_skus"], strict=True)):
            exact, text = flash_verdict(run, report, sku)
            wrong |= name == "new" and not exact
            print(f"  {name:<5} round {n + 1}: {'exact' if exact else 'WRONG'}: {text}")
        clean = report["stock_never_negative"] and not report["ledger_mismatches"] and not report["money_differences"]
        wrong |= name == "new" and not clean
        print(
            f"  {name:<5} database: stock never negative {report['stock_never_negative']}, ledger mismatches "
            f"{report['ledger_mismatches']}, money position differences {report['money_differences']}, "
            f"captures this run {report['captures']}"
        )
    for n, flash in enumerate(reports[ESTAB]["flash"] if oscar else []):
        print(
            f"  {ESTAB:<5} round {n + 1}: {flash['orders']} orders for {flash['units']} units ({flash['units_sold']} "
            f"units sold), answers {flash['statuses']}, {flash['server_errors']} 5xx, {flash['clients']} clients; "
            f"stock after: in stock {flash['num_in_stock']}, allocated {flash['num_allocated']}"
        )
    print(
        "\nqueries per checkout (in process, all databases, a second checkout; before the response, BEGIN/COMMIT "
        "included; in brackets without BEGIN/COMMIT, as bin/bench counts; then what ran after the response):"
    )
    for name in [*names, *oscar]:
        first = prepared[name].get("queries_first_checkout")
        executed, after = prepared[name].get("queries_executed"), prepared[name].get("queries_after_response")
        why = "" if name == ESTAB else "; it fills the caches and refreshes the SKU's listing"
        print(
            f"  {name:<5} {prepared[name]['queries_per_checkout']:4}"
            + (f" ({executed})" if executed is not None else "")
            + (f", {after} after the response" if after is not None else "")
            + (f"   (the first in its process: {first}{why})" if first else "")
        )
    print("\nratios (median, and per round):")

    def rates(scenario: str, name: str) -> list[float]:
        return [run.rate for run in runs[(scenario, name)]]

    def p99s(name: str) -> list[float]:
        return [run.latency_ms(0.99) for run in runs[("flash", name)]]

    per_round = lambda a, b: [x / y if y else float("nan") for x, y in zip(a, b, strict=True)]  # noqa: E731
    if "old" in names:
        ratio("new / old, spread checkouts/s", per_round(rates("spread", "new"), rates("spread", "old")), ">= 3")
    ratio("new hot / new spread", per_round(rates("hot", "new"), rates("spread", "new")), ">= 0.5")
    if "old" in names:
        ratio("old hot / old spread", per_round(rates("hot", "old"), rates("spread", "old")))
        ratio("new / old, flash-sale p99", per_round(p99s("new"), p99s("old")), "<= 0.33")
    ratio("new / floor, checkouts/s", per_round(rates("spread", "new"), rates("spread", "floor")), ">= 0.25")
    if "old" in names:
        ratio("new / old, cart pairs/s", per_round(rates("cart", "new"), rates("cart", "old")))
    if oscar:
        ratio(f"new / {ESTAB}, cart pairs/s", per_round(rates("cart", "new"), rates("cart", ESTAB)), ">= 3.5")
        if "old" in names:
            ratio(
                f"old / {ESTAB}, cart pairs/s",
                per_round(rates("cart", "old"), rates("cart", ESTAB)),
                "(issue 24 measured 2.6-3.0)",
            )
        ratio(f"new / {ESTAB}, flash-sale p99", per_round(p99s("new"), p99s(ESTAB)))
    for name in names:
        steps = reports[name]["saga_steps_ms"]
        if steps:
            print(f"\nsaga steps of the {name} shop (ms):   mean    p50    p95")
            for step, (mean, p50, p95) in steps.items():
                print(f"  {step:<30} {mean:6.1f} {p50:6.1f} {p95:6.1f}")
    return wrong


if __name__ == "__main__":
    main()
