#!/usr/bin/env python3
"""The suite stages of ``.ci/run``: which tests each one runs, and a check that no test was dropped.

Each test runs where its result can differ (docs/ci.md). The selections are pytest markers that the
root ``conftest.py`` applies from what a test uses (a transactional database, the bus's fixtures, the
browser, …), so a new test falls into its stages without anyone listing it. This module is the one
place the stages are defined: ``.ci/run`` runs each suite stage through it, and the check collects
each stage with the same selection and environment.

    tools/ci_stages.py run STAGE [pytest args]   run one stage (what .ci/run does)
    tools/ci_stages.py rules                     each stage and its rule, one sentence each
    tools/ci_stages.py table OUT [--before ROOT] write "test id <TAB> stages" for the stages now,
                                                 or for .ci/run as it was at 044be09 on a checkout
    tools/ci_stages.py check [BEFORE] [--out F]  fails when a test that ran in a stage before runs in
                                                 none now, or a test added since runs in none

"Runs in a stage" means collected by the stage's selection and not skipped by what collection can
tell: ``skip``/``skipif`` marks (evaluated in the stage's environment) and the suite's self-skipping
fixtures (SELF_SKIPPING below: ``postgresql_only`` off PostgreSQL, the resilience prerequisites).
A test that calls ``pytest.skip()`` in its own body counts as running (docs/ci.md lists them).

This file is also the pytest plugin (``-p ci_stages``) the collections load to write what they saw.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_TABLE = ROOT / ".ci" / "stages-044be09.tsv"
RETIRED_TABLE = ROOT / ".ci" / "retired-tests.tsv"  # tests removed with the code they tested, and why
PG_URL = os.environ.get("CI_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/commerce_ci")
REDIS_URL = os.environ.get("CI_REDIS_URL", "redis://127.0.0.1:6379/15")
# The one slow test whose result depends on none of the modes (it reads requirements.lock and asks
# PyPI; bin/audit is its own stage too): it runs in the SQLite stage only.
AUDIT = "tests/security/test_deployment.py::test_the_locked_dependencies_have_no_known_vulnerability"
# Parallel test processes of the parallel stages (more than the two cores: many tests wait on a
# subprocess, a server or a database). --dist loadgroup keeps each xdist_group on one of them.
PARALLEL = ["-n", os.environ.get("CI_TEST_PROCESSES", "3"), "--dist", "loadgroup"]


@dataclass(frozen=True)
class Stage:
    name: str
    rule: str  # one sentence: which tests, and why there
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    parallel: bool = True
    python: str = "venv"  # or "newest": the .venv-newest interpreter of .ci/run
    launcher: str = ""  # a bin/ script that runs pytest (its own options first), instead of python -m pytest


def _pg(**extra: str) -> dict[str, str]:
    return {"DATABASE_URL": PG_URL, "REQUIRE_POSTGRESQL": "1", **extra}


# The stages of .ci/run now, in its order. Markers: conftest.py (``_classify``) says how each is set.
STAGES: tuple[Stage, ...] = (
    Stage(
        "browser",
        "The staff journeys in Chromium (tests/browser, run by bin/test-browser), once: the browser and "
        "the admin do not change with the database or the dispatch.",
        args=("tests/browser",),
        env={"REQUIRE_BROWSER": "1"},
        parallel=False,
        launcher="bin/test-browser",
    ),
    Stage(
        "sqlite",
        "The whole suite once (bin/test: SQLite, inline events), except what the browser stage runs.",
        args=("-m", "not browser"),
        launcher="bin/test",
    ),
    Stage(
        "postgresql",
        "The tests that use the database within one context (`database`, not `several_databases`) and the "
        "`postgres` ones, on one database: the SQL, the vendor branches (row locks, data-modifying WITH, the "
        "listing's queries) and the migrations differ on PostgreSQL, and the races run in the layout most "
        "shops deploy (the tests across contexts run on PostgreSQL in the split stages).",
        args=(
            "-m",
            "database and (not several_databases or postgres) and not browser and not resilience",
            "--deselect",
            AUDIT,
        ),
        env=_pg(),
    ),
    Stage(
        "split",
        "The tests that can reach more than one context's database but deliver no event (`several_databases`, "
        "not `bus`), every context on its own PostgreSQL database, in parallel processes.",
        args=(
            "-m",
            "several_databases and not bus and not postgres and not browser and not resilience",
            "--deselect",
            AUDIT,
        ),
        env=_pg(DATABASE_SPLIT="1"),
    ),
    Stage(
        "split-postgres",
        "The `postgres` tests (races, 16 threads) with every context on its own database, in one process: "
        "each holds 16 threads' connections to up to seven databases, and PostgreSQL's 100 run out beside "
        "other test processes (inline: the handlers race in the 16 request threads, which a Celery worker "
        "would only slow, 206 s against 122 s).",
        args=("-m", "postgres and not browser and not resilience", "--deselect", AUDIT),
        env=_pg(DATABASE_SPLIT="1"),
        parallel=False,
    ),
    Stage(
        "split-celery",
        "The tests that can deliver an event (`bus`: their transactions commit, they settle or capture "
        "deliveries, they are marked `celery`, or their module or fixtures use commerce.eventbus) through a "
        "real Celery worker, every context on its own database: one run for both, since the worker delivers "
        "across databases exactly as the split layout routes them, and inline delivery on one database is "
        "the SQLite stage's (docs/ci.md).",
        args=("-m", "bus and not postgres and not browser and not resilience", "--deselect", AUDIT),
        env=_pg(DATABASE_SPLIT="1", EVENTBUS_DISPATCH="celery", CELERY_BROKER_URL=REDIS_URL),
    ),
    Stage(
        "topology",
        "The lifted topology's deployables as real processes (`topology`: the notifications service, the "
        "gateway under nginx, `LIFTED=notifications bin/shop`, the export and history through the service), "
        "on PostgreSQL once, beside their SQLite run in the whole suite (those that deliver events run on "
        "PostgreSQL in split-celery).",
        args=("-m", "topology and not bus"),
        # A database of its own: .ci/run runs it beside the split-celery stage, whose test processes
        # would otherwise make test databases of the same names.
        env=_pg(DATABASE_URL=f"{PG_URL.partition('?')[0]}_topology"),
    ),
    Stage(
        "resilience",
        "tests/resilience (`resilience`): real gunicorn, Celery workers and a redis-server on PostgreSQL, "
        "once, in one process.",
        args=("-p", "no:randomly", "-m", "resilience"),
        env=_pg(),
        parallel=False,
    ),
    Stage(
        "python-newest",
        "On the newest Python (3.13), the tests that do not use the database: what differs by version is "
        "the language, the standard library, the import and gc machinery and the wheels, which those "
        "tests exercise; the SQL the database tests send does not change with it.",
        args=("-m", "not database and not browser and not resilience and not topology", "--deselect", AUDIT),
        env={"COMMERCE_VAR_DIR": str(ROOT / "var" / "newest")},
        python="newest",
    ),
)

# .ci/run at 044be09 (37 minutes), for the "before" table: the same suite in every mode.
_OLD_ONCE = ("--deselect", AUDIT)
OLD_STAGES: tuple[Stage, ...] = (
    Stage("browser", "bin/test-browser", args=("tests/browser",), env={"REQUIRE_BROWSER": "1"}),
    Stage("sqlite", "bin/test"),
    Stage("postgresql", "", args=("--ignore=tests/resilience", *_OLD_ONCE), env=_pg()),
    Stage("split", "", args=("--ignore=tests/resilience", *_OLD_ONCE), env=_pg(DATABASE_SPLIT="1")),
    Stage(
        "celery",
        "",
        args=("--ignore=tests/resilience", *_OLD_ONCE),
        env=_pg(EVENTBUS_DISPATCH="celery", CELERY_BROKER_URL=REDIS_URL),
    ),
    Stage("resilience", "", args=("-p", "no:randomly", "tests/resilience"), env=_pg()),
    Stage("python-newest", "", args=_OLD_ONCE),
)

# Fixtures that skip their test unless the stage's environment provides something: name -> predicate.
SELF_SKIPPING = {
    "postgresql_only": lambda env: env.get("DATABASE_URL", "").startswith("postgres"),
    # tests/resilience/conftest.py: PostgreSQL, single-database layout
    "_prerequisites": lambda env: env.get("DATABASE_URL", "").startswith("postgres") and not env.get("DATABASE_SPLIT"),
}
# Everything a stage's environment may set: unset first, so the caller's shell does not leak in.
_MODE_VARIABLES = ("DATABASE_URL", "DATABASE_SPLIT", "EVENTBUS_DISPATCH", "CELERY_BROKER_URL", "REQUIRE_POSTGRESQL")


def stage_environment(stage: Stage) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _MODE_VARIABLES}
    env["REQUIRE_OBJECT_LEVEL_TESTS"] = "1"
    env.update(stage.env)
    return env


def newest_python() -> str | None:
    """The newest Python .ci/run tests on: its .venv-newest, made by .ci/run."""
    candidate = ROOT / ".venv-newest" / "bin" / "python"
    return str(candidate) if candidate.exists() else None


def python_for(stage: Stage) -> str:
    if stage.python == "newest":
        found = newest_python()
        if found is None:
            raise SystemExit(f"stage {stage.name}: no .venv-newest (see .ci/run)")
        return found
    return str(ROOT / ".venv" / "bin" / "python")


def _pytest_invocation(stage: Stage, python: str, extra: Iterable[str] = ()) -> list[str]:
    start = [str(ROOT / stage.launcher)] if stage.launcher else [python, "-m", "pytest", "-q"]
    return [*start, *(PARALLEL if stage.parallel else ()), *stage.args, *extra]


def run(name: str, extra: list[str]) -> int:
    stage = _by_name(STAGES, name)
    command = _pytest_invocation(stage, python_for(stage), extra)
    print("+", " ".join(f"{key}={value}" for key, value in stage.env.items()), " ".join(command[1:]), flush=True)
    return subprocess.call(command, cwd=ROOT, env=stage_environment(stage))


def _by_name(stages: Iterable[Stage], name: str) -> Stage:
    for stage in stages:
        if stage.name == name:
            return stage
    raise SystemExit(f"no stage {name!r}; stages: {', '.join(stage.name for stage in stages)}")


# --- Tables ----------------------------------------------------------------------------------------


def _selection(stage: Stage) -> dict:
    """A stage's pytest arguments as the plugin applies them: ``-m``, ``--deselect`` and paths."""
    selection: dict = {"name": stage.name, "markexpr": "", "deselect": [], "paths": []}
    args = iter(stage.args)
    for arg in args:
        if arg == "-m":
            selection["markexpr"] = next(args)
        elif arg == "--deselect":
            selection["deselect"].append(next(args))
        elif arg == "-p":
            next(args)
        elif not arg.startswith("-"):
            selection["paths"].append(arg)
        else:
            raise ValueError(f"stage {stage.name}: {arg} is not understood by the collection plugin")
    return selection


def _collect(env_stage: Stage, root: Path, args: Iterable[str], selections: list[dict]) -> list[dict]:
    """What a collection on ``root`` in ``env_stage``'s environment saw: each test's id, whether it
    skips there, and which of ``selections`` choose it."""
    with tempfile.TemporaryDirectory(prefix="ci-stages-") as scratch:
        out = Path(scratch) / "seen.json"
        env = stage_environment(env_stage)
        env.update(
            CI_STAGES_OUT=str(out),
            CI_STAGES_SELECT=json.dumps(selections),
            PYTHONPATH=str(Path(__file__).parent),
            COMMERCE_VAR_DIR=str(Path(scratch) / "var"),
        )
        command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "--collect-only", "-qq"]
        command += ["-p", "ci_stages", "-p", "no:xdist", "-p", "no:randomly", *args]
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        if result.returncode not in (0, 5):  # 5: nothing selected
            raise SystemExit(f"collecting {env_stage.name} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        return json.loads(out.read_text()) if out.exists() else []


def collect(stage: Stage, root: Path, *, include_skipped: bool = False) -> set[str]:
    """The ids of the tests ``stage`` runs on the checkout at ``root`` (pytest's own selection)."""
    seen = _collect(stage, root, stage.args, [])
    return {entry["id"] for entry in seen if include_skipped or not entry["skipped"]}


def grouped_table(stages: Iterable[Stage], root: Path) -> tuple[dict[str, list[str]], set[str]]:
    """The table of ``stages`` from one collection per environment (the plugin applies each stage's
    selection), and every collected id."""
    groups: dict[tuple, list[Stage]] = {}
    for stage in stages:
        key = tuple(sorted((k, v) for k, v in stage.env.items() if k in _MODE_VARIABLES))
        groups.setdefault(key, []).append(stage)
    with ThreadPoolExecutor(max_workers=2) as pool:
        seen = list(
            pool.map(lambda group: _collect(group[0], root, (), [_selection(s) for s in group]), groups.values())
        )
    order = [stage.name for stage in stages]
    rows: dict[str, list[str]] = {}
    everything: set[str] = set()
    for entries in seen:
        for entry in entries:
            everything.add(entry["id"])
            if not entry["skipped"]:
                rows.setdefault(entry["id"], []).extend(entry["stages"])
    return {test_id: sorted(names, key=order.index) for test_id, names in sorted(rows.items())}, everything


def table(stages: Iterable[Stage], root: Path) -> dict[str, list[str]]:
    stages = list(stages)
    with ThreadPoolExecutor(max_workers=2) as pool:
        collected = list(pool.map(lambda stage: collect(stage, root), stages))
    rows: dict[str, list[str]] = {}
    for stage, ids in zip(stages, collected, strict=True):
        for test_id in ids:
            rows.setdefault(test_id, []).append(stage.name)
    return dict(sorted(rows.items()))


def write_table(rows: dict[str, list[str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{test_id}\t{','.join(stages)}\n" for test_id, stages in rows.items()))


def read_table(path: Path) -> dict[str, list[str]]:
    rows = {}
    for line in path.read_text().splitlines():
        test_id, _, stages = line.partition("\t")
        rows[test_id] = [stage for stage in stages.split(",") if stage]
    return rows


def _name(test_id: str) -> str:
    """A test's id without its file: what stays when a test moves to another module."""
    return test_id.split("::", 1)[-1]


def read_retired(path: Path) -> dict[str, str]:
    """Tests removed on purpose, with why: ``test id<TAB>reason`` a line (``#`` lines are comments)."""
    retired = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                test_id, _, reason = line.partition("\t")
                retired[test_id] = reason
    return retired


def _file(test_id: str) -> str:
    return test_id.split("::", 1)[0].rsplit("/", 1)[-1]


def dropped(
    before: dict[str, list[str]], after: dict[str, list[str]], retired: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The problems (a test that ran before and runs nowhere now, a new test that runs nowhere, a test
    said to be retired that is still there) and the moves seen: a test gone from its file matches the one
    new test of the same name elsewhere, or, when several share the name, the one in a file of the same
    name. A retired test (removed with the code it tested, listed with its reason) is not a problem."""
    retired = retired or {}
    problems: list[str] = []
    new_ids = [test_id for test_id in after if test_id not in before]
    by_name: dict[str, list[str]] = {}
    for test_id in new_ids:
        by_name.setdefault(_name(test_id), []).append(test_id)
    moved: dict[str, str] = {}
    for test_id, stages in before.items():
        if not stages:
            continue
        now = after.get(test_id)
        if now is None:
            candidates = by_name.get(_name(test_id), [])
            if len(candidates) > 1:
                candidates = [c for c in candidates if _file(c) == _file(test_id)]
            if len(candidates) == 1:
                moved[test_id] = candidates[0]
                now = after[candidates[0]]
        if test_id in retired:
            if now is not None:
                problems.append(f"{test_id}: listed as retired but still collected")
            continue
        if now is None:
            problems.append(f"{test_id}: ran in {','.join(stages)} before, is not collected now (removed or renamed?)")
        elif not now:
            problems.append(f"{test_id}: ran in {','.join(stages)} before, runs in no stage now")
    for test_id in new_ids:
        if test_id not in moved.values() and not after[test_id]:
            problems.append(f"{test_id}: new, runs in no stage")
    return problems, moved


def check(before_path: Path, out: Path | None) -> int:
    before = read_table(before_path)
    now, everything = grouped_table(STAGES, ROOT)
    after = {test_id: now.get(test_id, []) for test_id in sorted(everything | set(now))}
    if out is not None:
        write_table(after, out)
    retired = read_retired(RETIRED_TABLE)
    problems, moved = dropped(before, after, retired)
    counts = {stage.name: sum(stage.name in stages for stages in after.values()) for stage in STAGES}
    print(f"{len(after)} tests now, {len(before)} before ({len(moved)} moved to another file, {len(retired)} retired)")
    for test_id, reason in retired.items():
        print("RETIRED", test_id, "-", reason)
    print("tests per stage:", ", ".join(f"{name} {count}" for name, count in counts.items()))
    for problem in problems:
        print("DROPPED", problem)
    return 1 if problems else 0


# --- The collection plugin (-p ci_stages) -----------------------------------------------------------


def pytest_collection_finish(session) -> None:
    out = os.environ.get("CI_STAGES_OUT")
    if not out:
        return
    from _pytest.mark import MarkMatcher
    from _pytest.mark.expression import Expression
    from _pytest.skipping import evaluate_skip_marks

    selections = json.loads(os.environ.get("CI_STAGES_SELECT") or "[]")
    expressions = {s["name"]: Expression.compile(s["markexpr"]) if s["markexpr"] else None for s in selections}
    env = dict(os.environ)
    seen = []
    for item in session.items:
        skipped = evaluate_skip_marks(item) is not None or any(
            not provided(env) for name, provided in SELF_SKIPPING.items() if name in getattr(item, "fixturenames", ())
        )
        matcher = MarkMatcher.from_markers(item.iter_markers())
        stages = [
            selection["name"]
            for selection in selections
            if (not selection["paths"] or any(item.nodeid.startswith(path) for path in selection["paths"]))
            and not any(item.nodeid.startswith(deselected) for deselected in selection["deselect"])
            and (expressions[selection["name"]] is None or expressions[selection["name"]].evaluate(matcher))
        ]
        seen.append({"id": item.nodeid, "skipped": skipped, "stages": stages})
    Path(out).write_text(json.dumps(seen))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("stage")
    commands.add_parser("rules")
    table_parser = commands.add_parser("table")
    table_parser.add_argument("out", type=Path)
    table_parser.add_argument("--before", type=Path, metavar="ROOT", help="a checkout of 044be09: its old stages")
    check_parser = commands.add_parser("check")
    check_parser.add_argument("before", type=Path, nargs="?", default=BEFORE_TABLE)
    check_parser.add_argument("--out", type=Path)
    args, extra = parser.parse_known_args(argv)
    if args.command == "run":
        return run(args.stage, extra)
    if args.command == "rules":
        for stage in STAGES:
            print(f"{stage.name}: {stage.rule}")
        return 0
    if args.command == "table":
        rows = table(OLD_STAGES, args.before) if args.before else grouped_table(STAGES, ROOT)[0]
        write_table(rows, args.out)
        print(f"{len(rows)} tests written to {args.out}")
        return 0
    return check(args.before, args.out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
