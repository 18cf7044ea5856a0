"""The configuration table (docs/configuration.md, linked from the README) lists every environment
variable the code reads, and nothing the code no longer reads (issue 14 point 7). The failure names each
variable and where it is read."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
SECTION = "## Environment variables"
# Where the shop's code lives: the deployables, the contexts, the commands a user runs.
PYTHON_SOURCES = [ROOT / "commerce", ROOT / "contexts", ROOT / "services", ROOT / "manage.py"]
SHELL_SOURCES = [ROOT / "bin"]
ENV_HELPERS = {"env_bool", "env_int", "env_list", "env_float", "env_str"}
# Read with a name built at run time, written in the table with a placeholder.
PLACEHOLDER = "<CONTEXT>"


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"DATABASE_URL_{context.upper()}" → DATABASE_URL_<CONTEXT>
        parts = [v.value if isinstance(v, ast.Constant) else PLACEHOLDER for v in node.values]
        return "".join(parts)
    return None


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _reads_environment(func: ast.AST) -> bool:
    """``os.environ.get(…)``, ``os.getenv(…)``, ``env_int(…)`` and the settings' other helpers."""
    if isinstance(func, ast.Name):
        return func.id in ENV_HELPERS
    if not isinstance(func, ast.Attribute):
        return False
    return func.attr == "getenv" or (func.attr in {"get", "pop", "setdefault"} and _is_environ(func.value))


def variables_in_python(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call) and node.args:
            if _reads_environment(node.func):
                name = _name(node.args[0])
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            name = _name(node.slice)
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            name = _name(node.left)
        if name and re.fullmatch(r"[A-Z][A-Z0-9_<>]*", name) and name != "DJANGO_SETTINGS_MODULE":
            found.setdefault(name, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def variables_in_shell(path: Path) -> dict[str, str]:
    """``${NAME:-default}``, ``${NAME-}`` and ``${NAME:?}``: what a script reads from its caller."""
    found: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*):?[-?]", line):
            found.setdefault(name, f"{path.relative_to(ROOT)}:{number}")
    return found


def variables_read_by_the_code() -> dict[str, str]:
    found: dict[str, str] = {}
    for source in PYTHON_SOURCES:
        files = [source] if source.is_file() else sorted(source.rglob("*.py"))
        for path in files:
            if "migrations" not in path.parts:
                for name, where in variables_in_python(path).items():
                    found.setdefault(name, where)
    for source in SHELL_SOURCES:
        for path in sorted(p for p in source.iterdir() if p.is_file()):
            for name, where in variables_in_shell(path).items():
                found.setdefault(name, where)
    # Each context's settings, read from the environment by one loop over their names.
    from commerce import settings

    for name in settings._CONTEXT_SETTINGS:
        found.setdefault(name, "commerce/settings.py (_CONTEXT_SETTINGS)")
    return found


def variables_in_the_table() -> set[str]:
    text = CONFIGURATION.read_text()
    assert f"\n{SECTION}\n" in text, f"{CONFIGURATION.relative_to(ROOT)} has no '{SECTION}' section"
    section = text.split(f"\n{SECTION}\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_<>]*)`", first_cell))
    return names


def test_the_configuration_table_lists_every_variable_the_code_reads():
    read = variables_read_by_the_code()
    documented = variables_in_the_table()

    missing = sorted(set(read) - documented)
    assert not missing, (
        f"docs/configuration.md's '{SECTION}' table lacks environment variables the code reads:\n"
        + "\n".join(f"  {name}  (read at {read[name]})" for name in missing)
        + "\nAdd one row each: | `NAME` | default | meaning |"
    )


def test_the_configuration_table_lists_nothing_the_code_does_not_read():
    read = variables_read_by_the_code()
    documented = variables_in_the_table()

    stale = sorted(documented - set(read))
    assert not stale, (
        f"docs/configuration.md's '{SECTION}' table documents variables no code reads (remove the rows, "
        "or read them in commerce/, contexts/ or bin/ with os.environ / env_* / ${NAME:-…}): " + ", ".join(stale)
    )


def test_the_scanner_sees_each_way_the_code_reads_the_environment(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "import os\n"
        "a = os.environ.get('ALPHA')\n"
        "b = os.environ['BETA']\n"
        "c = os.getenv('GAMMA', '1')\n"
        "d = env_int('DELTA', 3)\n"
        "e = 'EPSILON' in os.environ\n"
        "f = os.environ.get(f'ZETA_{x.upper()}')\n"
    )
    assert set(_names_of(source)) == {"ALPHA", "BETA", "GAMMA", "DELTA", "EPSILON", "ZETA_<CONTEXT>"}

    script = tmp_path / "script"
    script.write_text('port="${PORT:-8000}"\n[ -n "${ADMIN_EMAIL:-}" ]\nlocal="$VENV"\n: "${NEEDED:?set it}"\n')
    assert set(_names_of_script(script)) == {
        "PORT",
        "ADMIN_EMAIL",
        "NEEDED",
    }


def _names_of(path: Path) -> list[str]:
    return _outside_the_project(variables_in_python, path)


def _names_of_script(path: Path) -> list[str]:
    return _outside_the_project(variables_in_shell, path)


def _outside_the_project(scan, path: Path) -> list[str]:
    global ROOT
    saved, ROOT = ROOT, path.parent  # the scanners name files relative to ROOT
    try:
        return list(scan(path))
    finally:
        ROOT = saved
