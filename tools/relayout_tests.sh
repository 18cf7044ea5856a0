#!/usr/bin/env bash
# Puts the orders (with its checkout), identity and shared test set-up into STYLE.md's layout:
#
#   tests/<context>/{factories.py, unit/, integration/}, tests/journeys/, shared set-up in tests/support/,
#   and no test module importing a conftest.
#
# Run once, from the repository's root on a clean work tree, AFTER merging the branches that edit
# tests/checkout, tests/orders, tests/identity, tests/security and tests/http (their new files are moved
# too: the moves are by glob, and unit/ or integration/ is chosen by whether a module's tests use the
# database). Two commits, so git's rename detection keeps working for later merges:
#
#   1. moves only (git mv, plus empty __init__.py files): no file's content changes;
#   2. imports and fixtures: every moved file's old path and module name rewritten to the new one (in
#      tests, bench, tools, conftest.py, docs, bin, .ci/run and the .toml/.cfg/.ini files; the recorded
#      CI baselines .ci/*.tsv are left as they were), tests/orders/conftest.py (the checkout's shop
#      fixture), and the checkout helpers' copy of make_product/put_stock replaced by tests/support/shop.py's.
#
# It collects the suite before and after and stops when the count differs.
#     tools/relayout_tests.sh              # moves, rewrites, commits twice
#     tools/relayout_tests.sh --no-commit  # the same without committing (to try it on a scratch copy)
set -euo pipefail

cd "$(git rev-parse --show-toplevel)"
COMMIT=1
[ "${1:-}" = "--no-commit" ] && COMMIT=0
PYTHON=${PYTHON_BIN:-.venv/bin/python}

if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "relayout_tests: the work tree has changes; commit or stash them first" >&2
  exit 1
fi
if [ ! -f tests/checkout/conftest.py ]; then
  echo "relayout_tests: tests/checkout/conftest.py is gone: already run?" >&2
  exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Which test modules need no database (no django_db mark and no database fixture among any of their
# tests' fixtures): collected once, before anything moves, so unit/ and integration/ follow what the
# tests do rather than a list written today.
cat > "$scratch/relayout_dbuse.py" <<'PLUGIN'
import os

DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


def pytest_collection_finish(session):
    needs = {}
    for item in session.items:
        path = str(item.path.relative_to(session.config.rootpath))
        uses = bool(item.get_closest_marker("django_db")) or bool(DATABASE_FIXTURES & set(item.fixturenames))
        needs[path] = needs.get(path, False) or uses
    with open(os.environ["RELAYOUT_UNIT"], "w") as out:
        out.writelines(f"{path}\n" for path, uses in sorted(needs.items()) if not uses)
PLUGIN
before=$(RELAYOUT_UNIT="$scratch/unit" PYTHONPATH="$scratch${PYTHONPATH:+:$PYTHONPATH}" \
  "$PYTHON" -m pytest --co -q -p no:randomly -p relayout_dbuse 2>/dev/null | tail -1)
echo "==> before: $before"
if [ ! -f "$scratch/unit" ]; then
  echo "relayout_tests: the suite did not collect: $PYTHON -m pytest --co -q" >&2
  exit 1
fi
without_database() { grep -qxF "$1" "$scratch/unit"; }

# --- 1. moves only --------------------------------------------------------------------------------
new_package() { mkdir -p "$1" && touch "$1/__init__.py" && git add "$1/__init__.py"; }
new_package tests/orders/unit
new_package tests/orders/integration
new_package tests/identity/integration
new_package tests/journeys

# Every move is recorded: step 2 rewrites each old path and module name to its new one.
: > "$scratch/moves"
# A move onto a file that exists would lose one of them: refuse instead of guessing.
move() {
  if [ -e "$2" ]; then
    echo "relayout_tests: $2 exists; not moving $1 onto it" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$2")"
  git mv "$1" "$2"
  echo "$1 $2" >> "$scratch/moves"
}
# A context's test module goes to its unit/ or integration/ folder, by what its tests use.
move_test() {  # path, context
  local kind=integration
  if without_database "$1"; then
    kind=unit
    [ -f "tests/$2/unit/__init__.py" ] || new_package "tests/$2/unit"
  fi
  local target="tests/$2/$kind/$(basename "$1")"
  if [ -e "$target" ]; then  # a name both orders and the checkout use: the checkout's takes a prefix
    target="tests/$2/$kind/test_checkout_$(basename "$1" | sed 's/^test_//')"
  fi
  move "$1" "$target"
}

# Journeys first, so the globs below do not take them.
move tests/checkout/test_journey.py tests/journeys/test_checkout_journey.py
move tests/identity/test_journey.py tests/journeys/test_notifications_journey.py
for path in tests/orders/test_*.py tests/checkout/test_*.py; do
  if [ -e "$path" ]; then move_test "$path" orders; fi
done
for path in tests/identity/test_*.py; do
  if [ -e "$path" ]; then move_test "$path" identity; fi
done

# Shared set-up: the checkout's shop and helpers, the test processes' helpers, and each context's
# factories in its own tests folder.
move tests/checkout/conftest.py tests/support/checkout.py
move tests/ops/support.py tests/support/processes.py
move tests/factories.py tests/identity/factories.py
move contexts/catalogue/tests/factories.py tests/catalogue/factories.py
# Whatever else a branch added under tests/checkout (a helpers module) goes to tests/orders.
for path in tests/checkout/*.py; do
  if [ "$(basename "$path")" != "__init__.py" ] && [ -e "$path" ]; then
    move "$path" "tests/orders/$(basename "$path")"
  fi
done
echo "==> moved:"
sed 's/^/    /' "$scratch/moves"

if [ "$COMMIT" = 1 ]; then
  git commit -q -m "tests: orders (with the checkout's tests), identity and shared set-up move into STYLE.md's layout (tools/relayout_tests.sh, step 1); moves only, so rename detection carries other branches' edits to these files"
fi

# --- 2. imports and fixtures ----------------------------------------------------------------------
git rm -q tests/checkout/__init__.py
for package in contexts/*/tests; do  # empty now: every context's tests live under tests/
  if [ -z "$(git ls-files "$package" | grep -v '/__init__.py$' || true)" ]; then
    git rm -q -r "$package"
  fi
done

# Each moved file's old path (tests/checkout/test_links.py) and module (tests.checkout.test_links)
# becomes its new one; a name inside a longer one (contexts/catalogue/tests/factories.py for
# tests/factories.py, tests.orders.test_domain_pins for tests.orders.test_domain) is left alone.
while read -r old new; do
  old_module=$(echo "${old%.py}" | tr / .)
  new_module=$(echo "${new%.py}" | tr / .)
  for pair in "$old $new" "$old_module $new_module"; do
    read -r from to <<< "$pair"
    from=$(printf '%s' "$from" | sed 's/[.]/\\./g')
    printf 's#(^|[^./[:alnum:]_])%s([^[:alnum:]_]|$)#\\1%s\\2#g\n' "$from" "$to"
  done
done < "$scratch/moves" > "$scratch/rewrite.sed"
# The folder itself, named in prose.
printf 's#(^|[^./[:alnum:]_])tests/checkout([^[:alnum:]_]|$)#\\1tests/orders\\2#g\n' >> "$scratch/rewrite.sed"
{
  git ls-files -- 'tests/*.py' 'bench/*.py' 'tools/*.py' conftest.py
  git ls-files -- '*.md' 'bin/*' .ci/run '*.toml' '*.cfg' '*.ini'
} | sort -u > "$scratch/files"
# Twice: two names one character apart ("a.py,b.py") share the character between them, so one pass
# rewrites only the first. A second pass changes nothing else: no new name contains an old one.
for pass in 1 2; do xargs sed -i -E -f "$scratch/rewrite.sed" < "$scratch/files"; done

# Docstrings that named the old places, and docs/testing.md's note that the layout is unfinished.
sed -i '1s/^"""Factories shared by the cross-context tests. Each context keeps its own in ``<context>\/tests``."""$/"""Factories of the identity context (customers), for every test folder that needs a customer."""/' \
  tests/identity/factories.py
sed -i '1s/^"""Helpers for the operations tests: a script/"""Helpers for tests that start processes: a script/' tests/support/processes.py
if [ -f docs/testing.md ]; then sed -i '/^Until `tools\/relayout_tests.sh` has run/,+1d' docs/testing.md; fi

# The checkout's shop fixture: a fixture is found only in a conftest, so the orders tests get their own.
cat > tests/orders/conftest.py <<'CONFTEST'
"""The orders tests' shop (the checkout's products, shipping, tax and WELCOME10): tests.support.checkout."""

import pytest

from tests.support.checkout import build_shop


@pytest.fixture
def shop(db):
    build_shop()
CONFTEST
git add tests/orders/conftest.py

# tests/support/checkout.py: no fixture (it is no conftest any more), and the product builder and stock
# helper of tests/support/shop.py instead of its own copies. Each edit checks that it found the text it
# replaces, so a changed helper stops the script rather than being dropped.
"$PYTHON" - <<'PYTHON'
import re
import sys
from pathlib import Path

path = Path("tests/support/checkout.py")
text = path.read_text()


def drop(pattern: str, what: str) -> None:
    global text
    text, found = re.subn(pattern, "", text, count=1, flags=re.M)
    if not found:
        sys.exit(f"relayout_tests: {what} not found in {path}: edit it by hand")


drop(r'^WAREHOUSE = "MAIN"\n', "WAREHOUSE")
drop(r"^def put_stock\(sku: str, on_hand: int\) -> None:\n(    [^\n]*\n)+\n*", "put_stock")
drop(r"^def make_product\(slug: str, name: str, skus: [^\n]*\n(( [^\n]*)?\n)+?(?=\S)", "make_product")
drop(r"^@pytest\.fixture\ndef shop\(db\):\n    build_shop\(\)\n\n*", "the shop fixture")
text = text.replace(
    "from contexts.pricing import api as pricing_api\n",
    "from contexts.pricing import api as pricing_api\nfrom tests.support.shop import WAREHOUSE, make_product, put_stock\n",
    1,
)
path.write_text(text)
PYTHON

git add -u
changed=$(git diff --cached --no-renames --name-only --diff-filter=AM HEAD -- '*.py')
if [ -n "$changed" ]; then
  # Only what the rewrite touches: import order and imports left unused; other findings are reported.
  .venv/bin/ruff check --fix -q --select I,F401 $changed || true
  .venv/bin/ruff format -q $changed
  .venv/bin/ruff check -q $changed || echo "relayout_tests: ruff's findings above are not the rewrite's (fix them apart)" >&2
  git add -u
fi

after=$("$PYTHON" -m pytest --co -q -p no:randomly 2>/dev/null | tail -1)
echo "==> after:  $after"
leftover=$(git grep -n -E "conftest import|tests\.checkout\b" -- 'tests/*.py' 'bench/*.py' conftest.py || true)
if [ -n "$leftover" ]; then
  echo "relayout_tests: imports of a conftest or of tests/checkout remain:" >&2
  echo "$leftover" >&2
  exit 1
fi
# A test module importing another's helpers: said, not fatal (the helper belongs in a helpers module).
git grep -n -E "from tests\.[a-z_.]+\.test_[a-z_]+ import" -- 'tests/*.py' || true
if [ "${before%% in *}" != "${after%% in *}" ]; then
  echo "relayout_tests: the suite collects differently (before: $before; after: $after)" >&2
  exit 1
fi
if [ "$COMMIT" = 1 ]; then
  git commit -q -m "tests: imports and fixtures follow the moves (tools/relayout_tests.sh, step 2): shared set-up from tests/support, the orders tests' shop fixture in tests/orders/conftest.py, one product builder"
fi
echo "==> done: run the moved folders: .venv/bin/python -m pytest -q tests/orders tests/identity tests/journeys"
