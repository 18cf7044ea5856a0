"""Rewrite a generated block of a Markdown file between its ``<!-- name:begin -->`` and
``<!-- name:end -->`` markers (tools/context_graph.py and tools/saga_table.py keep docs in step with
the code this way)."""

import re
from pathlib import Path


def write_block(path: Path, name: str, content: str) -> None:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text()
    if begin not in text or end not in text:
        raise SystemExit(f"{path} has no {begin} … {end} block to write into")
    block = f"{begin}\n{content}\n{end}"
    path.write_text(re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S))
