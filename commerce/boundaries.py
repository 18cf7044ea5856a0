"""An import-linter contract for DESIGN.md rule 1: a context imports only ``api`` and ``events`` of
another context.

import-linter's built-in contracts can say "never import X" but not "import nothing of Y except its
published modules", so this small custom contract does: every direct import from one container
(``contexts.pricing``) into a sibling container must land in one of the sibling's public modules.
It is loaded by ``.importlinter`` (``contract_types``) and imports no context itself.
"""

from __future__ import annotations

from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class PublicInterfaceContract(Contract):
    type_name = "public_interface"

    containers = fields.ListField(subfield=fields.StringField())
    public_modules = fields.ListField(subfield=fields.StringField())

    def _container_of(self, module: str) -> str | None:
        for container in self.containers:  # type: ignore[attr-defined]
            if module == container or module.startswith(container + "."):
                return container
        return None

    def _is_public(self, module: str, container: str) -> bool:
        if module == container:  # the package itself, whose __init__ is empty by rule
            return True
        relative = module[len(container) + 1 :]
        return any(
            relative == public or relative.startswith(public + ".")
            for public in self.public_modules  # type: ignore[attr-defined]
        )

    def check(self, graph, verbose: bool) -> ContractCheck:
        violations = []
        for importer in sorted(graph.modules):
            source = self._container_of(importer)
            if source is None:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                target = self._container_of(imported)
                if target is None or target == source or self._is_public(imported, target):
                    continue
                lines = [d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)]
                violations.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            lines = ", ".join(f"l.{n}" for n in violation["lines"]) or "?"
            output.print_error(f"{violation['importer']} -> {violation['imported']} ({lines})", bold=False)
        output.new_line()
        output.print("Import another context's `api` or `events` module instead.")
