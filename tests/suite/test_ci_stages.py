"""The check of tools/ci_stages.py: a test that ran in a CI stage before runs in one now.

The collections themselves run in .ci/run's stage ``test stages: no test dropped``; here the
comparison is tested on small tables, and the stage definitions are read as the plugin reads them.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ci_stages():
    spec = importlib.util.spec_from_file_location("ci_stages_under_test", ROOT / "tools" / "ci_stages.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_a_test_that_ran_before_and_runs_in_no_stage_now_is_reported(ci_stages):
    before = {"tests/a.py::test_kept": ["sqlite", "postgresql"], "tests/a.py::test_lost": ["postgresql"]}
    after = {"tests/a.py::test_kept": ["sqlite"], "tests/a.py::test_lost": []}

    problems, _ = ci_stages.dropped(before, after)

    assert problems == ["tests/a.py::test_lost: ran in postgresql before, runs in no stage now"]


def test_a_test_gone_from_the_collection_is_reported(ci_stages):
    problems, _ = ci_stages.dropped({"tests/a.py::test_gone": ["sqlite"]}, {})

    assert problems == ["tests/a.py::test_gone: ran in sqlite before, is not collected now (removed or renamed?)"]


def test_a_test_moved_to_another_file_is_followed_by_its_name(ci_stages):
    before = {"tests/old/test_x.py::test_it[1]": ["sqlite"], "tests/old/test_y.py::test_other": ["celery"]}
    after = {"tests/new/test_x.py::test_it[1]": ["sqlite"], "tests/new/test_y.py::test_other": []}

    problems, moved = ci_stages.dropped(before, after)

    assert moved == {
        "tests/old/test_x.py::test_it[1]": "tests/new/test_x.py::test_it[1]",
        "tests/old/test_y.py::test_other": "tests/new/test_y.py::test_other",
    }
    assert problems == ["tests/old/test_y.py::test_other: ran in celery before, runs in no stage now"]


def test_a_new_test_must_run_in_some_stage(ci_stages):
    problems, _ = ci_stages.dropped({}, {"tests/a.py::test_new": [], "tests/a.py::test_run": ["sqlite"]})

    assert problems == ["tests/a.py::test_new: new, runs in no stage"]


def test_a_test_that_ran_nowhere_before_may_run_nowhere_now(ci_stages):
    assert ci_stages.dropped({"tests/a.py::test_never": []}, {"tests/a.py::test_never": []}) == ([], {})


def test_the_table_is_written_and_read_back(ci_stages, tmp_path):
    rows = {"tests/a.py::test_one[x-y]": ["sqlite", "postgresql"], "tests/a.py::test_two": []}

    ci_stages.write_table(rows, tmp_path / "stages.tsv")

    assert ci_stages.read_table(tmp_path / "stages.tsv") == rows


def test_the_before_table_is_the_old_ci_s_every_test(ci_stages):
    """.ci/stages-044be09.tsv: .ci/run at 044be09 ran the suite in every mode."""
    before = ci_stages.read_table(ci_stages.BEFORE_TABLE)

    assert len(before) > 1500
    assert all(stages for stages in before.values())
    assert sum("split" in stages for stages in before.values()) > 1500


def test_every_stage_is_one_sentence_and_its_selection_is_understood_by_the_collection(ci_stages):
    for stage in ci_stages.STAGES:
        selection = ci_stages._selection(stage)
        assert selection["name"] == stage.name
        assert stage.rule.count(". ") == 0 and stage.rule.endswith("."), stage.name


def test_a_moved_test_whose_name_is_shared_follows_the_file_of_the_same_name(ci_stages):
    before = {
        "tests/checkout/test_idempotency.py::test_scoped": ["sqlite"],
        "tests/orders/test_idempotency_store.py::test_scoped": ["sqlite"],
    }
    after = {
        "tests/orders/integration/test_idempotency.py::test_scoped": ["sqlite"],
        "tests/orders/integration/test_idempotency_store.py::test_scoped": ["sqlite"],
    }

    problems, moved = ci_stages.dropped(before, after)

    assert problems == []
    assert moved == {
        "tests/checkout/test_idempotency.py::test_scoped": "tests/orders/integration/test_idempotency.py::test_scoped",
        "tests/orders/test_idempotency_store.py::test_scoped": (
            "tests/orders/integration/test_idempotency_store.py::test_scoped"
        ),
    }


def test_a_retired_test_is_not_dropped_but_must_say_why_and_must_really_be_gone(ci_stages):
    before = {"tests/a.py::test_of_removed_code": ["sqlite"], "tests/a.py::test_kept": ["sqlite"]}
    after = {"tests/a.py::test_kept": ["sqlite"]}

    problems, _ = ci_stages.dropped(before, after, retired={"tests/a.py::test_of_removed_code": "the wrapper is gone"})
    assert problems == []

    problems, _ = ci_stages.dropped(
        before,
        {**after, "tests/a.py::test_of_removed_code": ["sqlite"]},
        retired={"tests/a.py::test_of_removed_code": "the wrapper is gone"},
    )
    assert problems == ["tests/a.py::test_of_removed_code: listed as retired but still collected"]


def test_every_retired_test_gives_its_reason(ci_stages):
    retired = ci_stages.read_retired(ci_stages.RETIRED_TABLE)
    assert retired and all(reason.strip() for reason in retired.values())
