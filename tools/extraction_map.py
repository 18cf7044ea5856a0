"""Print the extraction map: per context, what ties it to the rest, and the order to lift them out in.

    .venv/bin/python tools/extraction_map.py            # read it
    .venv/bin/python tools/extraction_map.py --json     # the same, for machines
    .venv/bin/python tools/extraction_map.py --root DIR # a tree of one's own with a contexts/ package

Lifting a context out (DESIGN.md, docs/extraction.md) costs in proportion to what ties it to the rest:
every context that calls its ``api`` needs a client over the network, every saga step it owns becomes
a remote step with a compensation, every event others consume from it has to cross the broker, every
table moves to its own database. Listening costs little: a binding on its queue. So the map says, for
each context, which of its ``api`` functions other contexts call, which contexts' ``api`` it calls, the
events it publishes (its ``events`` module's ``@domain_event`` classes, and where they are built) and
the ones it consumes (its ``@subscriber(...)`` handlers), its tables, its part in a saga
(``Step(name, owner, ...)`` declarations), and then scores each context by those ties and orders them,
cheapest first, with the reasons.

It reads the code, not a description of it: the syntax tree of every module under ``contexts/``
(nothing is imported, so a context that does not load yet is still mapped), and the tables from
Django's app registry when the tree is this repository (auto-created many-to-many tables included), or
from ``models.py`` otherwise. tests/architecture/test_extraction_map.py holds it to facts of the code.
"""

import argparse
import ast
import json
import os
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ("api", "events")  # the modules of a context that another may import (DESIGN.md rule 1)

# What each tie costs a lifted context, in points (lower scores are lifted first). Calls in are the
# dearest: every caller must switch to a client and now fails when the service is down. A saga step
# owned by a service puts it on the purchase's critical path with a compensation over the network.
WEIGHTS = {
    "caller": 3.0,  # each other context (or the wiring) calling its api
    "function": 1.0,  # each api function others call: one remote procedure to serve
    "callee": 2.0,  # each context whose api it calls: a client it needs
    "called_function": 1.0,  # each function of theirs it calls: one they must serve remotely
    "published_consumed": 1.0,  # each (event, consuming context) pair: others now depend on its relay
    "consumed": 0.25,  # each event of another context it consumes: a binding on its queue
    "table": 0.5,  # each table to move to its own database
    "saga_step": 4.0,  # each step it owns in another context's saga
    "orchestrated_step": 1.0,  # each step of its saga owned by another context
}


@dataclass
class Use:
    """A name of one context's published module used in another's code (or the wiring's)."""

    caller: str
    target: str
    module: str  # "api" or "events"
    name: str
    called: bool
    site: str


@dataclass
class Event:
    name: str
    version: int
    cls: str
    built_at: list[str] = field(default_factory=list)
    consumed_by: list[str] = field(default_factory=list)


@dataclass
class Subscription:
    event: str
    handler: str
    site: str


@dataclass
class SagaStep:
    orchestrator: str
    step: str
    owner: str
    site: str


@dataclass
class Context:
    name: str
    label: str
    functions: set[str] = field(default_factory=set)  # the functions its api defines
    events: dict[str, Event] = field(default_factory=dict)  # by class name
    subscriptions: list[Subscription] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    service: str | None = None


@dataclass
class Code:
    contexts: dict[str, Context]
    uses: list[Use]
    saga: list[SagaStep]


# --- reading the tree ----------------------------------------------------------------------------


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _published(module: str, own: str, level: int) -> tuple[str, str] | None:
    """``(context, "api"|"events")`` when ``module`` is (inside) a context's published module."""
    parts = module.split(".") if module else []
    if level:  # ``from .events import X`` inside a context's top package
        return (own, parts[0]) if level == 1 and parts and parts[0] in PUBLISHED else None
    if len(parts) >= 3 and parts[0] == "contexts" and parts[2] in PUBLISHED:
        return parts[1], parts[2]
    return None


class _Module:
    """One module's imports of published modules, resolved: who ``inventory_api.x`` or ``X`` really is."""

    def __init__(self, path: Path, own: str, root: Path) -> None:
        self.path, self.own = path, own
        self.relative = path.relative_to(root).as_posix()
        self.tree = ast.parse(path.read_text(), filename=str(path))
        self.modules: dict[str, tuple[str, str]] = {}  # local dotted name -> (context, module)
        self.names: dict[str, tuple[str, str, str, int]] = {}  # local name -> (context, module, name, line)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _published(alias.name, own, 0)
                    if target and len(alias.name.split(".")) == 3:
                        self.modules[alias.asname or alias.name] = target
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                for alias in node.names:
                    whole = _published(f"{module}.{alias.name}", own, node.level)
                    if whole and (node.level or len(module.split(".")) == 2):
                        self.modules[alias.asname or alias.name] = whole
                    elif target := _published(module, own, node.level):
                        self.names[alias.asname or alias.name] = (*target, alias.name, node.lineno)
        self.called = {id(node.func) for node in ast.walk(self.tree) if isinstance(node, ast.Call)}
        self.called_names = {
            node.func.id
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }

    def site(self, line: int) -> str:
        return f"{self.relative}:{line}"

    def resolve(self, node: ast.AST) -> tuple[str, str, str] | None:
        """``(context, module, name)`` of an expression naming something of a published module."""
        if isinstance(node, ast.Name) and node.id in self.names:
            return self.names[node.id][:3]
        if isinstance(node, ast.Attribute) and (owner := _dotted(node.value)) in self.modules:
            return (*self.modules[owner], node.attr)
        return None

    def borrowers(self) -> dict[int, str]:
        """In the wiring: whose api call lends another's (``orders_api.register_x(resolver=identity_api.y)``).

        The context that receives the loan is the one that calls it at run time, so it is the caller.
        """
        found = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and (what := self.resolve(node.func)) and what[1] == "api":
                for argument in [*node.args, *(k.value for k in node.keywords)]:
                    found.update({id(inner): what[0] for inner in ast.walk(argument)})
        return found

    def uses(self, wiring: bool) -> list[Use]:
        found = [
            Use(self.own, target, module, name, local in self.called_names, self.site(line))
            for local, (target, module, name, line) in self.names.items()
        ]
        borrowers = self.borrowers() if wiring else {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute) and (owner := _dotted(node.value)) in self.modules:
                target, module = self.modules[owner]
                caller = borrowers.get(id(node), self.own)
                found.append(Use(caller, target, module, node.attr, id(node) in self.called, self.site(node.lineno)))
        return found


def _label(package: Path) -> str:
    apps = package / "apps.py"
    if apps.exists():
        for node in ast.walk(ast.parse(apps.read_text())):
            if isinstance(node, ast.Assign) and [_dotted(t) for t in node.targets] == ["label"]:
                return _constant(node.value) or package.name
    return package.name


def _sources(package: Path, published: str | None = None) -> list[Path]:
    """The modules of a context (its migrations are history, not ties), or of one of its published modules."""
    if published:
        single = package / f"{published}.py"
        return [single] if single.exists() else sorted((package / published).rglob("*.py"))
    return sorted(path for path in package.rglob("*.py") if "migrations" not in path.relative_to(package).parts)


def _constant(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_named(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and (_dotted(node.func) or "").split(".")[-1] == name


def _declared_events(package: Path) -> dict[str, Event]:
    found = {}
    for path in _sources(package, "events"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            for decorator in node.decorator_list:
                if _call_named(decorator, "domain_event") and (event := _constant(decorator.args[0])):
                    version = next((k.value for k in decorator.keywords if k.arg == "version"), None)
                    number = version.value if isinstance(version, ast.Constant) else 1
                    found[node.name] = Event(event, number, node.name)
    return found


def _api_functions(package: Path) -> set[str]:
    return {
        node.name
        for path in _sources(package, "api")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_")
    }


def _tables_from_models(package: Path, label: str) -> list[str]:
    """Each concrete model class's table (``Meta.db_table`` or Django's ``<label>_<model>``), read from models.

    A model is a class deriving from ``*Model``, Django's abstract users, or a model of the same module.
    """
    tables, models = [], {"AbstractBaseUser", "AbstractUser"}
    paths = [package / "models.py"] if (package / "models.py").exists() else sorted((package / "models").rglob("*.py"))
    for path in paths:
        for node in ast.parse(path.read_text()).body:
            bases = [(_dotted(base) or "").split(".")[-1] for base in getattr(node, "bases", [])]
            if not isinstance(node, ast.ClassDef) or not any(b.endswith("Model") or b in models for b in bases):
                continue
            models.add(node.name)
            meta = {
                _dotted(item.targets[0]): item.value
                for inner in node.body
                if isinstance(inner, ast.ClassDef) and inner.name == "Meta"
                for item in inner.body
                if isinstance(item, ast.Assign)
            }
            if any(isinstance(meta.get(key), ast.Constant) and meta[key].value for key in ("abstract", "proxy")):
                continue
            tables.append(_constant(meta.get("db_table")) or f"{label}_{node.name.lower()}")
    return sorted(tables)


def _tables_from_django(labels: set[str]) -> dict[str, list[str]]:
    """The tables Django creates for each context's app, auto-created many-to-many ones included."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
    import django
    from django.apps import apps

    django.setup()
    return {
        config.label: sorted(
            model._meta.db_table
            for model in config.get_models(include_auto_created=True)
            if model._meta.managed and not model._meta.proxy
        )
        for config in apps.get_app_configs()
        if config.label in labels
    }


def read(root: Path, *, django: bool) -> Code:
    """Everything the map needs from the tree at ``root``; tables from Django's registry if ``django``."""
    top = root / "contexts"
    packages = sorted(p.parent for p in top.glob("*/__init__.py") if p.parent.name != "__pycache__")
    contexts = {
        package.name: Context(
            name=package.name,
            label=_label(package),
            functions=_api_functions(package),
            events=_declared_events(package),
            service=f"services/{package.name}" if (root / "services" / package.name).is_dir() else None,
        )
        for package in packages
    }
    registry = _tables_from_django({c.label for c in contexts.values()}) if django else {}
    for package in packages:
        context = contexts[package.name]
        context.tables = registry.get(context.label) or _tables_from_models(package, context.label)

    # Modules under contexts/ outside every context (the wiring) call apis too: they are callers of their own.
    modules = [_Module(path, package.name, root) for package in packages for path in _sources(package)]
    modules += [_Module(path, path.stem, root) for path in sorted(top.glob("*.py")) if path.name != "__init__.py"]
    uses, saga = [], []
    by_event: dict[tuple[str, str], Event] = {(c.name, e.cls): e for c in contexts.values() for e in c.events.values()}
    for module in modules:
        wiring = module.own not in contexts
        uses += [
            use for use in module.uses(wiring) if use.target not in (use.caller, module.own) and use.target in contexts
        ]
        for node in ast.walk(module.tree):
            if _call_named(node, "Step"):
                step = _constant(node.args[0]) if node.args else None
                owner = _constant(node.args[1]) if len(node.args) > 1 else None
                keywords = {k.arg: _constant(k.value) for k in node.keywords}
                step, owner = keywords.get("name", step), keywords.get("owner", owner)
                if step and owner:
                    saga.append(SagaStep(module.own, step, owner, module.site(node.lineno)))
            elif isinstance(node, ast.Call) and (what := module.resolve(node.func)) and what[1] == "events":
                event = by_event.get((what[0], what[2]))
                if event and what[0] == module.own:
                    event.built_at.append(module.site(node.lineno))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and module.own in contexts:
                for decorator in node.decorator_list:
                    if _call_named(decorator, "subscriber") and decorator.args:
                        what = module.resolve(decorator.args[0])
                        event = by_event.get((what[0], what[2])) if what else None
                        name = event.name if event else ast.unparse(decorator.args[0])
                        subscription = Subscription(name, node.name, module.site(node.lineno))
                        contexts[module.own].subscriptions.append(subscription)
                        if event and module.own != what[0] and module.own not in event.consumed_by:
                            event.consumed_by.append(module.own)
    for event in by_event.values():
        event.consumed_by.sort()
    return Code(contexts, uses, saga)


# --- the map -------------------------------------------------------------------------------------


def _by(uses: list[Use], key: str, keep) -> dict[str, list[str]]:
    """``{other context: [names]}`` over the api uses ``keep`` accepts, keyed by ``caller`` or ``target``."""
    found: dict[str, set[str]] = defaultdict(set)
    for use in uses:
        if use.module == "api" and keep(use):
            found[getattr(use, key)].add(use.name)
    return {other: sorted(names) for other, names in sorted(found.items())}


def describe(code: Code) -> dict[str, dict]:
    """The map, one entry per context, ready for JSON."""
    functions = {name: context.functions for name, context in code.contexts.items()}

    def called(use: Use) -> bool:  # a function of the api called, not a DTO, exception or constant named
        return use.called and use.name in functions[use.target]

    described = {}
    for name, context in code.contexts.items():
        inbound = [use for use in code.uses if use.target == name]
        outbound = [use for use in code.uses if use.caller == name]
        described[name] = {
            "label": context.label,
            "service": context.service,
            "api_called_by": _by(inbound, "caller", called),
            "api_types_used_by": _by(inbound, "caller", lambda use: use.name not in functions[use.target]),
            "api_call_sites": sorted(
                {f"{u.site} {u.caller} -> {u.name}" for u in inbound if u.module == "api" and u.called}
            ),
            "calls": _by(outbound, "target", called),
            "publishes": [asdict(event) for event in sorted(context.events.values(), key=lambda e: e.name)],
            "consumes": [asdict(s) for s in sorted(context.subscriptions, key=lambda s: (s.event, s.handler))],
            "tables": context.tables,
            "saga": {
                "steps_owned": [asdict(step) for step in code.saga if step.owner == name and step.orchestrator != name],
                "orchestrates": [
                    asdict(step) for step in code.saga if step.orchestrator == name and step.owner != name
                ],
            },
        }
    return described


def rank(described: dict[str, dict]) -> list[dict]:
    """Every context with its score (the sum of its ties' weights) and the reasons, cheapest to lift first."""
    ranked = []
    for name, facts in described.items():
        own_events = {event["name"] for event in facts["publishes"]}
        consumed = sorted({s["event"] for s in facts["consumes"]} - own_events)
        pairs = [(e["name"], c) for e in facts["publishes"] for c in e["consumed_by"]]
        called = sorted({f for names in facts["api_called_by"].values() for f in names})
        calling = sorted({f"{t}.{f}" for t, names in facts["calls"].items() for f in names})
        owned, orchestrated = facts["saga"]["steps_owned"], facts["saga"]["orchestrates"]
        orchestrated = [step for step in orchestrated if step["owner"] in described]
        terms = [
            ("caller", len(facts["api_called_by"]), "callers of its api", ", ".join(facts["api_called_by"])),
            ("function", len(called), "api functions others call", ", ".join(called)),
            ("callee", len(facts["calls"]), "contexts whose api it calls", ", ".join(facts["calls"])),
            ("called_function", len(calling), "functions of theirs it calls", ", ".join(calling)),
            ("published_consumed", len(pairs), "its events others consume", _pairs(pairs)),
            ("consumed", len(consumed), "events of others it consumes", ", ".join(consumed)),
            ("table", len(facts["tables"]), "tables to move", ""),
            ("saga_step", len(owned), "steps it owns in another's saga", _steps(owned)),
            ("orchestrated_step", len(orchestrated), "steps of its saga others own", _steps(orchestrated)),
        ]
        score = sum(WEIGHTS[key] * count for key, count, _, _ in terms)
        reasons = [_verdict(facts, consumed, pairs)]
        reasons += [
            f"+{WEIGHTS[key] * count:g}  {what}: {count}" + (f" ({detail})" if detail else "")
            for key, count, what, detail in terms
            if count
        ]
        if facts["service"]:
            reasons.append(f"already has a service entry point ({facts['service']}/)")
        ranked.append({"context": name, "score": score, "reasons": reasons})
    ranked.sort(key=lambda entry: (entry["score"], entry["context"]))
    return [{"rank": number, **entry} for number, entry in enumerate(ranked, start=1)]


def _pairs(pairs: list[tuple[str, str]]) -> str:
    grouped: dict[str, list[str]] = defaultdict(list)
    for event, consumer in pairs:
        grouped[event].append(consumer)
    return "; ".join(f"{event} -> {', '.join(consumers)}" for event, consumers in grouped.items())


def _steps(steps: list[dict]) -> str:
    return ", ".join(f"{s['orchestrator']}.{s['step']} by {s['owner']}" for s in steps)


def _verdict(facts: dict, consumed: list[str], pairs: list) -> str:
    """One line that says what kind of context this is, before the points that make its score."""
    called, calls = bool(facts["api_called_by"]), bool(facts["calls"])
    if not called and not pairs and not facts["saga"]["steps_owned"]:
        return "only listens: nobody calls it or waits for its events" if consumed else "nothing depends on it"
    if not called and not facts["saga"]["steps_owned"]:
        return "nobody calls it; others consume its events (they stay asynchronous)"
    if not calls:
        return "calls no other context, but others call it: each caller needs a client first"
    return "calls and is called: a client of it for its callers, and clients of the contexts it calls"


def build(root: Path, *, django: bool) -> dict:
    described = describe(read(root, django=django))
    return {"contexts": described, "order": rank(described), "weights": WEIGHTS}


# --- printing ------------------------------------------------------------------------------------


def _lines(title: str, mapping: dict[str, list[str]], empty: str) -> list[str]:
    if not mapping:
        return [f"  {title}: {empty}"]
    return [f"  {title}:"] + [f"    {other}: {', '.join(names)}" for other, names in mapping.items()]


def text(result: dict) -> str:
    out = []
    for name, facts in result["contexts"].items():
        service = f"; service {facts['service']}/" if facts["service"] else ""
        out.append(f"{name} (app label {facts['label']}{service})")
        out += _lines("api functions others call", facts["api_called_by"], "none")
        out += _lines("api types others use", facts["api_types_used_by"], "none")
        out += _lines("calls the api of", facts["calls"], "no other context")
        out.append("  publishes:" if facts["publishes"] else "  publishes: nothing")
        for event in facts["publishes"]:
            built = ", ".join(event["built_at"]) or "never built (declared only)"
            consumers = ", ".join(event["consumed_by"]) or "no other context"
            out.append(f"    {event['name']} v{event['version']}: consumed by {consumers}; built at {built}")
        out.append("  consumes:" if facts["consumes"] else "  consumes: nothing")
        out += [f"    {s['event']} -> {s['handler']}" for s in facts["consumes"]]
        out.append(f"  tables ({len(facts['tables'])}): {', '.join(facts['tables']) or 'none'}")
        steps = _steps(facts["saga"]["steps_owned"] + facts["saga"]["orchestrates"])
        out += [f"  saga steps: {steps or 'none'}", ""]
    weights = ", ".join(f"{key} {value:g}" for key, value in result["weights"].items())
    out.append(f"Suggested order of extraction, lowest score first (points per tie: {weights}):")
    for entry in result["order"]:
        out.append(f"{entry['rank']}. {entry['context']} (score {entry['score']:g})")
        out += [f"     {reason}" for reason in entry["reasons"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--root", type=Path, default=ROOT, help="the tree to map (default: this repository)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    result = build(root, django=root == ROOT)
    print(json.dumps(result, indent=2) if args.json else text(result))


if __name__ == "__main__":
    main()
