"""Write the checkout saga's table from its declaration (``contexts/orders/services/_saga.py``).

    .venv/bin/python tools/saga_table.py            # print it
    .venv/bin/python tools/saga_table.py --write    # refresh the copies in README.md and docs/design.md

Each copy sits between ``<!-- saga-table:begin -->`` and ``<!-- saga-table:end -->``; a test
(tests/architecture/test_saga_table.py) fails when one differs from the code, as the context graph's.
"""

import argparse
import os
import sys
from pathlib import Path

from marked_block import write_block

ROOT = Path(__file__).resolve().parents[1]
COPIES = ("README.md", "docs/design.md")


def table() -> str:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
    import django

    django.setup()
    from contexts.orders.services._saga import CHECKOUT

    lines = ["| # | step | owner | action | compensation |", "|---|---|---|---|---|"]
    for number, step in enumerate(CHECKOUT.steps, start=1):
        undo = f"`{step.compensation_name}`: {step.undoes}" if step.compensation else step.undoes
        lines.append(f"| {number} | `{step.name}` | {step.owner} | {step.does} | {undo} |")
    lines += [
        "",
        f"The point of no return is `{CHECKOUT.point_of_no_return}`: a step that fails up to it undoes the "
        "completed steps, the most recent first; after it, the saga only goes forward (a failure is retried, "
        "never compensated). A saga left behind by a crash is healed by running the steps after its last "
        f"completed one when that is `{CHECKOUT.resume_after}` or later (the money was taken), and otherwise by "
        "compensating what it did; one that crashed while compensating finishes compensating with the error "
        "its failing step gave.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="refresh the copies in README.md and docs/design.md")
    args = parser.parse_args()
    text = table()
    if not args.write:
        print(text)
        return
    for name in COPIES:
        write_block(ROOT / name, "saga-table", text)


if __name__ == "__main__":
    main()
