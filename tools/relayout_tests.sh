#!/usr/bin/env bash
# Puts the orders (with its checkout), identity and shared test set-up into STYLE.md's layout:
#
#   tests/<context>/{factories.py, unit/, integration/}, tests/journeys/, shared set-up in tests/support/,
#   and no test module importing a conftest or another folder's test module.
#
# Run once, from the repository's root on a clean work tree, AFTER merging the branches that edit
# tests/checkout, tests/orders, tests/identity, tests/security and tests/http (their new files are moved
# too: the moves are by glob). Two commits, so git's rename detection keeps working for later merges:
#
#   1. moves only (git mv, plus empty __init__.py files): no file's content changes;
#   2. imports and fixtures: the module paths that moved, tests/orders/conftest.py (the checkout shop
#      fixture), and the checkout helpers' copy of make_product/put_stock replaced by tests/support/shop.py's.
#
# Then it collects the suite and prints the count (compare with the count before: it must not change).
#     tools/relayout_tests.sh            # moves, rewrites, commits twice
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

before=$("$PYTHON" -m pytest --co -q -p no:randomly 2>/dev/null | tail -1)
echo "==> before: $before"

# --- 1. moves only --------------------------------------------------------------------------------
new_package() { mkdir -p "$1" && touch "$1/__init__.py" && git add "$1/__init__.py"; }
new_package tests/orders/unit
new_package tests/orders/integration
new_package tests/identity/integration
new_package tests/journeys

# A move onto a file that exists would lose one of them: refuse instead of guessing.
move() {
  if [ -e "$2" ]; then
    echo "relayout_tests: $2 exists; not moving $1 onto it" >&2
    exit 1
  fi
  git mv "$1" "$2"
}

# Journeys first, so the globs below do not take them.
move tests/checkout/test_journey.py tests/journeys/test_checkout_journey.py
move tests/identity/test_journey.py tests/journeys/test_notifications_journey.py

# orders: the domain without a database; everything else (the checkout's tests included) with one.
move tests/orders/test_domain.py tests/orders/unit/test_domain.py
for path in tests/orders/test_*.py tests/checkout/test_*.py; do
  [ -e "$path" ] || continue
  target="tests/orders/integration/$(basename "$path")"
  if [ -e "$target" ]; then  # a name both folders use: the checkout's takes a prefix
    target="tests/orders/integration/test_checkout_$(basename "$path" | sed 's/^test_//')"
  fi
  move "$path" "$target"
done
for path in tests/identity/test_*.py; do
  move "$path" "tests/identity/integration/$(basename "$path")"
done

# Shared set-up: the checkout's shop and helpers, the test processes' helpers, and each context's
# factories in its own tests folder.
move tests/checkout/conftest.py tests/support/checkout.py
move tests/ops/support.py tests/support/processes.py
move tests/factories.py tests/identity/factories.py
move contexts/catalogue/tests/factories.py tests/catalogue/factories.py
# Whatever else a branch added under tests/checkout (a helpers module) goes to tests/orders.
for path in tests/checkout/*.py; do
  [ "$(basename "$path")" = "__init__.py" ] && continue
  [ -e "$path" ] || continue
  echo "relayout_tests: also moving $path to tests/orders/ (imports rewritten below)"
  move "$path" "tests/orders/$(basename "$path")"
done

if [ "$COMMIT" = 1 ]; then
  git commit -q -m "tests: orders (with the checkout's tests), identity and shared set-up move into STYLE.md's layout (tools/relayout_tests.sh, step 1); moves only, so rename detection carries other branches' edits to these files"
fi

# --- 2. imports and fixtures ----------------------------------------------------------------------
git rm -q tests/checkout/__init__.py
for package in contexts/*/tests; do  # empty now: every context's tests live under tests/
  if [ -z "$(git ls-files "$package" | grep -v '/__init__.py$')" ]; then
    git rm -q -r "$package"
  fi
done

# Module paths in Python and in prose (docs name test files by path).
{
  git ls-files -- 'tests/*.py' 'bench/*.py' 'tools/*.py' conftest.py
  git ls-files -- '*.md' 'bin/*' '.ci/*' '*.toml' '*.cfg' '*.ini'
} | sort -u | xargs sed -i -E \
  -e 's/\btests\.checkout\.conftest\b/tests.support.checkout/g' \
  -e 's/\btests\.ops\.support\b/tests.support.processes/g' \
  -e 's/\bcontexts\.catalogue\.tests\.factories\b/tests.catalogue.factories/g' \
  -e 's/\btests\.factories\b/tests.identity.factories/g' \
  -e 's/\btests\.checkout\.test_journey\b/tests.journeys.test_checkout_journey/g' \
  -e 's/\btests\.identity\.test_journey\b/tests.journeys.test_notifications_journey/g' \
  -e 's/\btests\.orders\.test_domain\b/tests.orders.unit.test_domain/g' \
  -e 's/\btests\.(checkout|orders)\.(test_[a-z_]+)\b/tests.orders.integration.\2/g' \
  -e 's/\btests\.identity\.(test_[a-z_]+)\b/tests.identity.integration.\1/g' \
  -e 's#\bcontexts/catalogue/tests/factories\.py#tests/catalogue/factories.py#g' \
  -e 's#\btests/checkout/conftest\.py#tests/support/checkout.py#g' \
  -e 's#\btests/ops/support\.py#tests/support/processes.py#g' \
  -e 's#\btests/factories\.py#tests/identity/factories.py#g' \
  -e 's#\btests/checkout/test_journey\.py#tests/journeys/test_checkout_journey.py#g' \
  -e 's#\btests/identity/test_journey\.py#tests/journeys/test_notifications_journey.py#g' \
  -e 's#\btests/orders/test_domain\.py#tests/orders/unit/test_domain.py#g' \
  -e 's#\btests/(checkout|orders)/(test_[a-z_]+\.py)#tests/orders/integration/\2#g' \
  -e 's#\btests/identity/(test_[a-z_]+\.py)#tests/identity/integration/\1#g' \
  -e 's#\btests/checkout\b/?#tests/orders/integration/#g'
# A helpers module a branch added under tests/checkout, imported by its old name.
for path in tests/orders/*.py; do
  name=$(basename "$path" .py)
  case "$name" in __init__|conftest|factories) continue ;; esac
  git ls-files -- 'tests/*.py' | xargs sed -i -E "s/\\btests\\.checkout\\.${name}\\b/tests.orders.${name}/g"
done

# Docstrings that named the old places.
sed -i '1s/^"""Factories shared by the cross-context tests. Each context keeps its own in ``<context>\/tests``."""$/"""Factories of the identity context (customers), for every test folder that needs a customer."""/' \
  tests/identity/factories.py
sed -i '1s/^"""Helpers for the operations tests: a script/"""Helpers for tests that start processes: a script/' tests/support/processes.py

# docs/testing.md says the layout is done.
sed -i '/^Until `tools\/relayout_tests.sh` has run/,+1d' docs/testing.md

# The checkout's shop fixture: a fixture is found only in a conftest, so the orders tests get their own.
cat > tests/orders/conftest.py <<'EOF'
"""The orders tests' shop (the checkout's products, shipping, tax and WELCOME10): tests.support.checkout."""

import pytest

from tests.support.checkout import build_shop


@pytest.fixture
def shop(db):
    build_shop()
EOF
git add tests/orders/conftest.py

# tests/support/checkout.py: no fixture (it is no conftest any more), and the product builder and stock
# helper of tests/support/shop.py instead of its own copies. Each edit checks that it found the text it
# replaces, so a changed helper stops the script rather than being dropped.
"$PYTHON" - <<'EOF'
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
EOF

changed=$(git diff --no-renames --name-only --diff-filter=AM HEAD -- '*.py'; git ls-files --others --exclude-standard -- '*.py')
if [ -n "$changed" ]; then
  .venv/bin/ruff check --fix -q $changed || true
  .venv/bin/ruff format -q $changed
  .venv/bin/ruff check $changed
fi
git add -A tests contexts bench tools conftest.py docs README.md bin .ci 2>/dev/null || git add -A tests contexts

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
