"""Where a checkout's time goes: the working tree's checkout in process, timed, its SQL timed, then profiled.

Issue 24 asks for checkout throughput of at least 0.25 × the one-insert floor and for the note to say where
the rest goes, with a profile. This runs the working tree's ``POST /api/v1/checkout`` through
``django.test.Client`` on the PostgreSQL database of ``DATABASE_URL`` (migrated by ``manage.py migrate_all``),
no server, no network, mail to Django's dummy backend::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/checkout/profiling.py
    BENCH_PROFILE=1 DATABASE_URL=... .venv/bin/python bench/checkout      # the same

``BENCH_PROFILE_CHECKOUTS`` (200) one-line guest carts over ``BENCH_SKUS`` (16 here) SKUs are checked out
twice over (carts made beforehand, 5 warm-up checkouts first):

1. without the profiler: wall time per checkout; the time inside ``cursor.execute`` on every database alias
   (``connection.execute_wrapper``), each statement charged to the innermost package of ours on the stack
   when it ran (``contexts.<name>``, ``commerce.eventbus``, ``commerce.idempotency``, the rest of ``commerce``;
   else Django's and DRF's request handling); and the main thread's stack sampled every millisecond (each
   sample weighted by the time since the last), which gives per package the time it was on the stack ("in
   it": what it calls included, so the rows nest: the orders context's view holds the whole checkout) and
   the time it was the innermost package running ("innermost": the rows sum to the wall time). These come
   from samples, not from cProfile's cumulative times: those are counted per call edge, so a package that
   calls back and forth with Django (the middleware chain) is counted many times over;
2. under ``cProfile``: the 15 functions with the most own time. The profiler slows Python code, not the
   database, so its times are larger than the first table's; their order is what matters.

Packages: ``contexts.<name>`` and ``commerce.eventbus`` / ``commerce.idempotency`` / ``commerce`` (the rest
of the kernel: middleware, metrics, database routing) by path; "serialization" is DRF's serializers, fields,
parsers and renderers, the contexts' ``rest/serializers`` modules and ``json``; "Django ORM + driver" is
``django.db`` and ``psycopg`` (query building, model instances, and the wait for the database);
"django/DRF request handling" the rest of Django and DRF; "other" the standard library and the remaining
libraries (its time is counted for the package that called it).
"""

import cProfile
import os
import pstats
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if __name__ == "__main__" and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)  # run as a script: this directory's modules must not shadow any other
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
os.environ.setdefault("LOG_LEVEL", "ERROR")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
os.environ.setdefault("BENCH_SKUS", "16")

CHECKOUTS = int(os.environ.get("BENCH_PROFILE_CHECKOUTS", "200"))
WARM = 5
TOP = 15
SERIALIZATION = ("serializers", "fields", "relations", "parsers", "renderers", "serializer_helpers")
OURS = ("contexts.", "commerce")  # a statement is charged to the innermost frame of these


def group_of(filename: str) -> str:
    """The package a function's file belongs to, as the tables name it."""
    path = Path(filename)
    parts = path.with_suffix("").parts
    try:
        relative = path.resolve().relative_to(ROOT).with_suffix("").parts
    except (ValueError, OSError):
        relative = ()
    if relative and relative[0] in ("contexts", "commerce") and ".venv" not in relative:
        if "serializers" in relative[-1] and "rest" in relative:
            return "serialization"
        if relative[0] == "contexts" and len(relative) > 2:
            return f"contexts.{relative[1]}"
        if relative[0] == "commerce" and len(relative) > 2 and relative[1] in ("eventbus", "idempotency"):
            return f"commerce.{relative[1]}"
        return "commerce" if relative[0] == "commerce" else "contexts"
    if "site-packages" in parts:
        library = parts[parts.index("site-packages") + 1 :]
        if library[:1] == ("psycopg",) or library[:1] == ("psycopg_binary",) or library[:2] == ("django", "db"):
            return "Django ORM + driver"
        if library[:1] == ("rest_framework",) and library[-1] in SERIALIZATION:
            return "serialization"
        if library[:1] in (("django",), ("rest_framework",), ("drf_spectacular",)):
            return "django/DRF request handling"
        return "other"
    if "json" in parts:
        return "serialization"
    return "other"


def prepare() -> tuple[list[str], list[str], list[str]]:
    """Migrate, make the shop and every cart: (warm-up carts, timed carts, profiled carts)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate_all", "-v", "0"], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"migrate_all failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from bench.checkout._shop import carts_for, setup_shop

    spread, _, _ = setup_shop(f"CP{int(time.time())}")
    skus = [spread[i % len(spread)] for i in range(WARM + 2 * CHECKOUTS)]
    carts = carts_for(skus)
    return carts[:WARM], carts[WARM : WARM + CHECKOUTS], carts[WARM + CHECKOUTS :]


class Statements:
    """Every database alias's ``cursor.execute`` timed, each statement charged to a package (see the docstring)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - began
            frame, group = sys._getframe(1), "django/DRF request handling"
            while frame is not None:
                module = frame.f_globals.get("__name__", "")
                if module.startswith(OURS):
                    group = group_of(frame.f_code.co_filename)
                    break
                frame = frame.f_back
            self.seconds[group] += elapsed
            self.count[group] += 1


def checkout_all(carts: list[str]) -> float:
    from django.test import Client

    from bench.checkout._shop import body

    client = Client()
    began = time.perf_counter()
    for cart_id in carts:
        response = client.post(
            "/api/v1/checkout", body(cart_id), content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
        )
        if response.status_code != 201:
            sys.exit(f"a checkout answered {response.status_code}: {response.content[:500]!r}")
    return time.perf_counter() - began


class Sampler(threading.Thread):
    """The main thread's stack sampled every millisecond, each sample weighted by the time since the last one:
    per package, the time it was on the stack ("in it") and the time it was the innermost package (the
    standard library's frames ("other") count for the package that called them)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.target = threading.main_thread().ident
        self.running = threading.Event()
        self.inside: dict[str, float] = defaultdict(float)
        self.innermost: dict[str, float] = defaultdict(float)
        self.groups: dict[str, str] = {}
        self.samples: list[float] = []

    def run(self) -> None:
        last = time.perf_counter()
        while not self.running.is_set():
            time.sleep(0.001)
            frame = sys._current_frames().get(self.target)
            now = time.perf_counter()
            weight, last = now - last, now
            self.samples.append(weight)
            seen, innermost = set(), None
            while frame is not None:
                filename = frame.f_code.co_filename
                group = self.groups.get(filename) or self.groups.setdefault(filename, group_of(filename))
                seen.add(group)
                if innermost is None and group != "other":
                    innermost = group
                frame = frame.f_back
            for group in seen - {"other"}:
                self.inside[group] += weight
            self.innermost[innermost or "other"] += weight

    def stop(self) -> None:
        self.running.set()
        self.join()


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/commerce_bench")
    warm, timed, profiled = prepare()
    from django.db import connections

    from commerce.database import context_aliases

    checkout_all(warm)
    statements, sampler = Statements(), Sampler()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # the sampler gets its turn within a millisecond
    with ExitStack() as stack:
        for alias in context_aliases():
            stack.enter_context(connections[alias].execute_wrapper(statements))
        sampler.start()
        wall = checkout_all(timed)
        sampler.stop()
    sys.setswitchinterval(interval)
    profiler = cProfile.Profile()
    profiler.enable()
    profiled_wall = checkout_all(profiled)
    profiler.disable()

    n = CHECKOUTS
    ms = lambda seconds: 1000 * seconds / n  # noqa: E731 (per checkout)
    sql = sum(statements.seconds.values())
    count = sum(statements.count.values())
    print(
        f"checkout profile: {n} checkouts of the working tree in process (django.test.Client), PostgreSQL "
        f"{url.rsplit('/', 1)[-1]}, guest carts of one line over {os.environ['BENCH_SKUS']} SKUs"
    )
    print(f"{'':44}ms/checkout")
    print(f"  {'wall time, no profiler':<42}{ms(wall):8.1f}")
    print(
        f"    {'SQL (inside cursor.execute)':<40}{ms(sql):8.1f}  ({sql / wall:.0%}; {count / n:.1f} statements through cursor.execute)"
    )
    print(f"    {'the rest (Python: ours, Django, DRF)':<40}{ms(wall - sql):8.1f}  ({1 - sql / wall:.0%})")
    print(f"  {'wall time under cProfile':<42}{ms(profiled_wall):8.1f}  (the profiler slows Python, not SQL)")

    stats = pstats.Stats(profiler).stats
    sampled = sum(sampler.innermost.values())
    print(
        f"\nby package (ms per checkout; {len(sampler.samples)} samples)"
        f"\n{'':32}in it          innermost     SQL  statements"
    )
    order = sorted(
        set(sampler.inside) | set(sampler.innermost) | set(statements.count),
        key=lambda g: (not g.startswith(("contexts", "commerce")), g),
    )
    for group in order:
        inside, innermost = sampler.inside.get(group, 0) / sampled, sampler.innermost.get(group, 0) / sampled
        print(
            f"  {group:<30}{ms(inside * wall):8.1f} {inside:4.0%}{ms(innermost * wall):9.1f} {innermost:4.0%}"
            f"{ms(statements.seconds.get(group, 0)):8.1f}{statements.count.get(group, 0) / n:11.1f}"
        )
    print(
        "  (sampled without the profiler. in it: the package on the stack, what it calls included, so rows nest;\n"
        "   innermost: the package running (the standard library's time is its caller's), the rows sum to the\n"
        "   wall time; SQL: the time inside cursor.execute of the statements issued with it innermost of ours)"
    )
    print(f"\ntop {TOP} functions by own time (cProfile)   own ms  calls   per checkout")
    top = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:TOP]
    for (filename, line, name), (_, calls, tottime, _, _) in top:
        where = name if filename == "~" else f"{Path(filename).name}:{line} {name}"
        group = "built-in" if filename == "~" else group_of(filename)
        print(f"  {ms(tottime):6.2f} {calls / n:7.1f}  {group:<28} {where[:70]}")


if __name__ == "__main__":
    main()
