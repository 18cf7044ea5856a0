"""The README and the pages under docs/ link only to what a clone has: a relative link names a file in the
repository, and a link to a heading (`page.md#a-heading`, or `#a-heading` on the same page) finds that
heading, with the anchor GitHub gives it. A page moved or a heading renamed fails here, naming the link."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def tracked_markdown() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    files = [ROOT / name for name in listed.stdout.split()]
    return [path for path in files if path.exists()] or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose_lines(text: str) -> list[str]:
    """The lines outside code blocks: a `# comment` in a shell example is no heading, a `](x)` no link."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: link texts kept, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(document: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose_lines(document.read_text()):
        found.update(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", line))
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            anchor = slug(heading.group(1))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def broken_links(documents: list[Path]) -> list[str]:
    broken = []
    for document in documents:
        for line in prose_lines(document.read_text()):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                    continue
                file_part, _, fragment = target.partition("#")
                path = (document.parent / file_part).resolve() if file_part else document
                where = f"{document.relative_to(ROOT)} → {target}"
                if not path.exists() or (ROOT not in path.parents and path != ROOT):
                    broken.append(f"{where} (no such file in the repository)")
                elif fragment and path.suffix == ".md" and fragment not in anchors(path):
                    broken.append(f"{where} (no heading with that anchor in {path.relative_to(ROOT)})")
    return broken


def test_every_relative_link_in_the_readme_and_docs_resolves_to_a_file_and_heading():
    broken = broken_links(tracked_markdown())
    assert not broken, "links a clone cannot follow:\n  " + "\n  ".join(broken)


def test_the_readme_links_each_page_under_docs():
    readme = (ROOT / "README.md").read_text()
    unlinked = [page.name for page in sorted((ROOT / "docs").glob("*.md")) if f"](docs/{page.name}" not in readme]
    assert not unlinked, f"README.md links no page of docs/ named {unlinked}: add it to the table under '## More'"


def test_the_checker_finds_a_missing_file_a_missing_heading_and_accepts_good_links(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## Tracing, and `metrics`\n\n## Tracing, and `metrics`\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n## Two commands\n\n"
        "[ok](docs/page.md#tracing-and-metrics) [ok](docs/page.md#tracing-and-metrics-1) [ok](#two-commands)\n"
        "[ok](https://example.com/x#y) [file](docs/gone.md) [heading](docs/page.md#monitoring)\n"
        "```bash\n# not a heading: [not a link](nowhere.md)\n```\n"
    )
    assert broken_links([readme]) == [
        "README.md → docs/gone.md (no such file in the repository)",
        "README.md → docs/page.md#monitoring (no heading with that anchor in docs/page.md)",
    ]
