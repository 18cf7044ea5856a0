"""Where a checkout's time goes: the working tree's checkout in process, timed, its SQL timed, then profiled.

Issue 24 asks for checkout throughput of at least 0.25 × the one-insert floor and for the note to say where
the rest goes, with a profile. This runs the working tree's ``POST /api/v1/checkout`` through
``django.test.Client`` on the PostgreSQL database of ``DATABASE_URL`` (migrated by ``manage.py migrate_all``),
no server, no network, mail to Django's dummy backend, connections kept (``DATABASE_CONN_MAX_AGE`` 60 unless
set, as ``bench/checkout``'s servers keep theirs)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/checkout/profiling.py
    BENCH_PROFILE=1 DATABASE_URL=... .venv/bin/python bench/checkout      # the same

``BENCH_PROFILE_CHECKOUTS`` (200) one-line guest carts over ``BENCH_SKUS`` (16 here) SKUs are checked out
twice over (carts made beforehand, 5 warm-up checkouts first):

1. without the profiler: wall time per checkout; the time inside ``cursor.execute`` on every database alias
   (``connection.execute_wrapper``) and inside the connections' COMMITs and ROLLBACKs (psycopg sends those
   outside ``cursor.execute``), each statement charged to the innermost package of ours on the stack
   when it ran (``contexts.<name>``, ``commerce.eventbus``, ``commerce.idempotency``, the rest of ``commerce``;
   else Django's and DRF's request handling); and the stack sampled every millisecond by a ``SIGALRM``
   handler (each sample weighted by the time since the last; a sampling thread would only get the GIL when
   the checkout waits for the database, and charge it the Python time before), which gives per package the time it was on the stack ("in
   it": what it calls included, so the rows nest: the orders context's view holds the whole checkout) and
   the time it was the innermost package running ("innermost": the rows sum to the wall time). These come
   from samples, not from cProfile's cumulative times: those are counted per call edge, so a package that
   calls back and forth with Django (the middleware chain) is counted many times over;
2. under ``cProfile``: the 15 functions with the most own time. The profiler slows Python code, not the
   database, so its times are larger than the first table's; their order is what matters.

Packages: ``contexts.<name>`` and ``commerce.eventbus`` / ``commerce.idempotency`` / ``commerce`` (the rest
of the kernel: middleware, metrics, database routing) by path; "serialization" is DRF's serializers, fields,
parsers and renderers, the contexts' ``rest/serializers`` modules and ``json``; "Django ORM" is ``django.db``
(query building, model instances); "psycopg (and the wait)" the driver, the wait for the database included;
"django/DRF request handling" the rest of Django and DRF; "other" the standard library and the remaining
libraries (its time is counted for the package that called it).
"""

import cProfile
import os
import pstats
import signal
import subprocess
import sys
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
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")  # connections kept across requests, as bench/checkout's servers

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
        if library[:2] == ("django", "db"):
            return "Django ORM"
        if library[:1] in (("psycopg",), ("psycopg_binary",)):
            return "psycopg (and the wait)"
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


def innermost_ours() -> str:
    """The package of the innermost frame of ours on the caller's stack (else request handling)."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith(OURS):
            return group_of(frame.f_code.co_filename)
        frame = frame.f_back
    return "django/DRF request handling"


class Statements:
    """Every database alias's ``cursor.execute`` timed, and its connection's commits and rollbacks (psycopg sends
    COMMIT outside ``cursor.execute``; BEGIN goes with a transaction's first statement), each charged to a
    package (see the docstring)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self.ending_seconds: dict[str, float] = defaultdict(float)
        self.endings: dict[str, int] = defaultdict(int)

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed, group = time.perf_counter() - began, innermost_ours()
            self.seconds[group] += elapsed
            self.count[group] += 1

    def watch(self, connection, stack: ExitStack) -> None:
        """Time ``connection``'s ``_commit`` and ``_rollback`` until ``stack`` closes."""
        for name in ("_commit", "_rollback"):
            original = getattr(connection, name)

            def timed(original=original):
                began = time.perf_counter()
                try:
                    return original()
                finally:
                    elapsed, group = time.perf_counter() - began, innermost_ours()
                    self.ending_seconds[group] += elapsed
                    self.endings[group] += 1

            setattr(connection, name, timed)
            stack.callback(delattr, connection, name)


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


class Sampler:
    """The main thread's stack sampled every millisecond of wall time (``SIGALRM`` from ``setitimer``: its
    handler runs in the main thread with the interrupted frame, also while it waits for the database), each
    sample weighted by the time since the last one: per package, the time it was on the stack ("in it") and
    the time it was the innermost package (the standard library's frames ("other") count for their caller's)."""

    def __init__(self) -> None:
        self.inside: dict[str, float] = defaultdict(float)
        self.innermost: dict[str, float] = defaultdict(float)
        self.groups: dict[str, str] = {}
        self.samples = 0
        self.last = 0.0

    def sample(self, signum, frame) -> None:
        now = time.perf_counter()
        weight, self.last = now - self.last, now
        self.samples += 1
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

    def start(self) -> None:
        self.last = time.perf_counter()
        signal.signal(signal.SIGALRM, self.sample)
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/commerce_bench")
    warm, timed, profiled = prepare()
    from django.db import connections

    from commerce.database import context_aliases

    checkout_all(warm)
    statements, sampler = Statements(), Sampler()
    with ExitStack() as stack:
        for alias in context_aliases():
            stack.enter_context(connections[alias].execute_wrapper(statements))
            statements.watch(connections[alias], stack)
        sampler.start()
        wall = checkout_all(timed)
        sampler.stop()
    profiler = cProfile.Profile()
    profiler.enable()
    profiled_wall = checkout_all(profiled)
    profiler.disable()

    n = CHECKOUTS
    ms = lambda seconds: 1000 * seconds / n  # noqa: E731 (per checkout)
    sql = sum(statements.seconds.values())
    count = sum(statements.count.values())
    endings, ending_count = sum(statements.ending_seconds.values()), sum(statements.endings.values())
    print(
        f"checkout profile: {n} checkouts of the working tree in process (django.test.Client), PostgreSQL "
        f"{url.rsplit('/', 1)[-1]}, guest carts of one line over {os.environ['BENCH_SKUS']} SKUs"
    )
    print(f"{'':44}ms/checkout")
    print(f"  {'wall time, no profiler':<42}{ms(wall):8.1f}")
    print(
        f"    {'SQL (inside cursor.execute)':<40}{ms(sql):8.1f}  ({sql / wall:.0%}; {count / n:.1f} statements through cursor.execute)"
    )
    print(
        f"    {'COMMIT and ROLLBACK':<40}{ms(endings):8.1f}  ({endings / wall:.0%}; {ending_count / n:.1f} transactions)"
    )
    rest = wall - sql - endings
    print(f"    {'the rest (Python: ours, Django, DRF)':<40}{ms(rest):8.1f}  ({rest / wall:.0%})")
    print(f"  {'wall time under cProfile':<42}{ms(profiled_wall):8.1f}  (the profiler slows Python, not SQL)")

    stats = pstats.Stats(profiler).stats
    sampled = sum(sampler.innermost.values())
    print(
        f"\nby package (ms per checkout; {sampler.samples} samples)"
        f"\n{'':32}in it          innermost     SQL  statements  commits ms   commits"
    )
    order = sorted(
        set(sampler.inside) | set(sampler.innermost) | set(statements.count) | set(statements.endings),
        key=lambda g: (not g.startswith(("contexts", "commerce")), g),
    )
    for group in order:
        inside, innermost = sampler.inside.get(group, 0) / sampled, sampler.innermost.get(group, 0) / sampled
        print(
            f"  {group:<30}{ms(inside * wall):8.1f} {inside:4.0%}{ms(innermost * wall):9.1f} {innermost:4.0%}"
            f"{ms(statements.seconds.get(group, 0)):8.1f}{statements.count.get(group, 0) / n:11.1f}"
            f"{ms(statements.ending_seconds.get(group, 0)):12.1f}{statements.endings.get(group, 0) / n:10.1f}"
        )
    print(
        "  (sampled without the profiler. in it: the package on the stack, what it calls included, so rows nest;\n"
        "   innermost: the package running (the standard library's time is its caller's), the rows sum to the\n"
        "   wall time; SQL, commits: the time inside cursor.execute of the statements, and of the COMMITs and\n"
        "   ROLLBACKs, issued with it innermost of ours on the stack)"
    )
    print(f"\ntop {TOP} functions by own time (cProfile)   own ms  calls   per checkout")
    top = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:TOP]
    for (filename, line, name), (_, calls, tottime, _, _) in top:
        where = name if filename == "~" else f"{Path(filename).name}:{line} {name}"
        group = "built-in" if filename == "~" else group_of(filename)
        print(f"  {ms(tottime):6.2f} {calls / n:7.1f}  {group:<28} {where[:70]}")


if __name__ == "__main__":
    main()
