"""Draw the contexts' real dependency graph (from the code's imports) as a Mermaid diagram.

    .venv/bin/python tools/context_graph.py            # print it
    .venv/bin/python tools/context_graph.py --write    # refresh the diagram in README.md

An edge ``a --> b`` means some module of context ``a`` imports ``b``'s api (``api``) or its events
(``events``). The README's copy is checked by a test, so it cannot drift from the code.
"""

import argparse
import sys
from pathlib import Path

import grimp
from marked_block import write_block

ROOT = Path(__file__).resolve().parents[1]
CONTEXTS = ("notifications", "identity", "orders", "cart", "catalogue", "pricing", "inventory")


def edges() -> dict[tuple[str, str], set[str]]:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("contexts", "commerce", cache_dir=None)
    found: dict[tuple[str, str], set[str]] = {}
    for source in CONTEXTS:
        for importer in graph.find_descendants(f"contexts.{source}") | {f"contexts.{source}"}:
            for imported in graph.find_modules_directly_imported_by(importer):
                parts = imported.split(".")
                if len(parts) >= 3 and parts[0] == "contexts" and parts[1] != source and parts[1] in CONTEXTS:
                    found.setdefault((source, parts[1]), set()).add(parts[2])
        if any(
            imported.startswith("commerce")
            for importer in graph.find_descendants(f"contexts.{source}")
            for imported in graph.find_modules_directly_imported_by(importer)
        ):
            found.setdefault((source, "commerce"), set()).add("kernel")
    return found


def mermaid() -> str:
    lines = ["```mermaid", "flowchart TD"]
    for (source, target), kinds in sorted(edges().items()):
        if target == "commerce":
            continue
        lines.append(f"    {source} -->|{' + '.join(sorted(kinds))}| {target}")
    lines.append("    contexts[every context] -.->|kernel| commerce[(commerce: event bus, routing, errors)]")
    lines.append("```")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="refresh the diagram in README.md")
    args = parser.parse_args()
    diagram = mermaid()
    if not args.write:
        print(diagram)
        return
    write_block(ROOT / "README.md", "context-graph", diagram)


if __name__ == "__main__":
    main()
