"""The OpenAPI schema tells the truth about errors too: every operation documents the error answers
the kernel gives it, in the contract's shape (``{code, detail, ...}``, API.md "Conventions").

A drf-spectacular post-processing hook, so each context's views declare only their success answers
and their own domain errors; the answers every endpoint can give are added here, once:

- ``400`` invalid input (a query parameter, the body, the page) and ``401`` a missing, malformed or
  expired token (authentication runs on every endpoint), ``403`` not allowed, ``429`` throttled;
- ``404`` when the path names a resource or the list is paginated (a page past the end);
  ``413`` and ``415`` when the operation takes a body.

Two more truths the kernel owns: ``page`` and ``page_size`` are positive whole numbers (whoever
declared them), and a ``StrictSerializer`` body refuses fields it does not know
(``additionalProperties: false``).

``AutoSchema`` (the project's ``DEFAULT_SCHEMA_CLASS``) states two bounds DRF enforces but
drf-spectacular leaves out: a text field that trims whitespace and may not be blank needs a
non-space character (``pattern: [^<spaces>]``, the characters ``str.strip()`` removes, spelled out:
``"   "`` and ``"\\x85"`` are refused like ``""``), and a nested list of
objects (``many=True``) carries its ``allow_empty``/``min_length``/``max_length`` as
``minItems``/``maxItems``.
"""

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

PAGE_PARAMETERS = ("page", "page_size")

# The characters Python's ``str.strip()``/``str.isspace()`` treat as white space, which is what DRF's
# ``trim_whitespace`` and the contexts' ``.strip()`` remove. Spelled out, never as ``\s``: a schema's
# pattern is ECMA-262, whose ``\s`` has U+FEFF but not U+001C-U+001F nor U+0085, and every validator or
# generator reads ``\s`` its own way (schemathesis sent ``line1: "\x85"`` as valid for ``\S``).
# ``tests/http/test_openapi_schema.py`` checks the class against ``str.isspace()`` code point by code point.
SPACE_CHARACTERS = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK_PATTERN = f"[^{SPACE_CHARACTERS}]"

# An email address as the shop takes it (``commerce.rest.EmailField``, which also runs Django's
# ``EmailValidator``, a superset): an ASCII dot-atom before the ``@``; after it a host name of labels
# (letters, digits, inner hyphens, at most 63 characters) ending in a top-level domain of letters (or
# ``xn--`` punycode). No quoted names, IP literals or bare hosts such as ``localhost``: the schema's
# ``format: email`` alone admitted ``0@0.a``, which Django refuses (a one-letter TLD).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"(?:[A-Za-z][A-Za-z-]{0,61}[A-Za-z]|[Xx][Nn]--[A-Za-z0-9]{1,59})"
EMAIL_ADDRESS = rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*\.{_TLD}"
EMAIL_PATTERN = f"^[{SPACE_CHARACTERS}]*{EMAIL_ADDRESS}[{SPACE_CHARACTERS}]*$"  # surrounding spaces are trimmed

ERROR_SCHEMA = "Error"
_ERROR_COMPONENT = {
    "type": "object",
    "description": 'Every 4xx/5xx answer: a machine-readable `code`, a human `detail`, and for `code: "invalid"` '
    "the field errors.",
    "properties": {
        "code": {"type": "string", "example": "invalid"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"oneOf": [{"type": "array"}, {"type": "object"}]},
            "description": 'Field validation errors, for `code: "invalid"`: a list of messages per field, or '
            "for a nested object or list, its own errors in the same shape.",
        },
    },
    "required": ["code", "detail"],
    "additionalProperties": True,
}
_EVERYWHERE = {
    "400": "Invalid input: a query parameter, the page or the body.",
    "401": "Authentication missing, malformed or expired.",
    "403": "Not allowed for this user.",
    "429": "Throttled; `Retry-After` says when to try again.",
}
_WITH_PATH_PARAMETERS = {"404": "No such resource, or not the caller's."}
_WITH_BODY = {
    "413": "The request body is too large.",
    "415": "The body is not JSON.",
}
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``: add the shared error answers to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(ERROR_SCHEMA, _ERROR_COMPONENT)
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    for path, item in result.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            answers = dict(_EVERYWHERE)
            paginated = _bound_page_parameters(operation)
            if "{" in path or paginated:
                answers |= _WITH_PATH_PARAMETERS
            if "requestBody" in operation:
                answers |= _WITH_BODY
            responses = operation.setdefault("responses", {})
            for status, description in answers.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[:1] in {"4", "5"} and "content" not in response:  # declared by its description only
                    response["content"] = {"application/json": {"schema": reference}}
    return result


def _bound_page_parameters(operation: dict[str, Any]) -> bool:
    """Give ``page`` and ``page_size`` the bounds ``StandardPagination`` enforces; whether it has them."""
    found = False
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("name") in PAGE_PARAMETERS:
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 999_999_999}
            found = True
    return found


@dataclass(frozen=True, kw_only=True)
class Link:
    """An OpenAPI link: what a ``source`` operation's ``status`` answer gives the ``target`` operation.

    ``parameters`` and ``request_body`` hold runtime expressions (``$response.body#/id``). Clients and
    schemathesis' stateful phase (``bin/fuzz``) follow them instead of guessing how operations relate.
    """

    source: str  # operationId
    status: str
    name: str
    target: str  # operationId
    parameters: Mapping[str, str] = field(default_factory=dict)
    request_body: Mapping[str, Any] | None = None
    description: str = ""


_LINKS: dict[tuple[str, str, str], Link] = {}


def declare_links(*links: Link) -> None:
    """Each context's ``rest`` package declares the links from its operations (to any context's
    operation, by ``operationId``): ``document_links`` puts them in the schema."""
    for link in links:
        _LINKS[(link.source, link.status, link.name)] = link


def document_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``: the declared links, on their source answers.

    A link whose source, status or target is not in the schema is a programming error (a renamed
    operation), not something to drop quietly: it raises.
    """
    operations = {
        operation["operationId"]: operation
        for item in result.get("paths", {}).values()
        for method, operation in item.items()
        if method in _METHODS and "operationId" in operation
    }
    for link in _LINKS.values():
        missing = [operation_id for operation_id in (link.source, link.target) if operation_id not in operations]
        if missing:
            raise ValueError(f"OpenAPI link {link.name}: no operation {', '.join(missing)} in the schema")
        response = operations[link.source].get("responses", {}).get(link.status)
        if response is None:
            raise ValueError(f"OpenAPI link {link.name}: {link.source} does not answer {link.status}")
        definition: dict[str, Any] = {"operationId": link.target}
        if link.parameters:
            definition["parameters"] = dict(link.parameters)
        if link.request_body is not None:
            definition["requestBody"] = copy.deepcopy(dict(link.request_body))
        if link.description:
            definition["description"] = link.description
        response.setdefault("links", {})[link.name] = definition
    return result


class StrictSerializerExtension(OpenApiSerializerExtension):
    """A ``StrictSerializer`` refuses unknown fields: its request schema says so."""

    target_class = "commerce.rest.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema

    def get_name(self, auto_schema: Any, direction: str) -> str | None:
        return None  # the serializer's own name, as without this extension


def any_case_pattern(words: Iterable[str]) -> str:
    """A regular expression matching exactly one of ``words`` in any case, in the subset of syntax an
    OpenAPI schema can carry (no inline flags): ``["EUR"]`` → ``^(?:[Ee][Uu][Rr])$``."""
    spelled = ("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word) for word in words)
    return f"^(?:{'|'.join(spelled)})$"


def country_code_pattern() -> str:
    """An ISO 3166-1 alpha-2 code in any case, surrounding spaces allowed (what an input that strips and
    upper-cases accepts)."""
    from django_countries import countries

    codes = any_case_pattern(sorted(code for code, _ in countries))  # ^(?:...)$
    return f"^[{SPACE_CHARACTERS}]*{codes[1:-1]}[{SPACE_CHARACTERS}]*$"


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, with the bounds DRF enforces that it does not state (module docstring).

    A serializer with ``partial_on_patch = False`` is documented whole on a PATCH (drf-spectacular
    assumes every PATCH body is partial): for a PATCH that needs its fields, such as a line's quantity.
    """

    def resolve_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> Any:
        if getattr(serializer, "partial", False) and getattr(serializer, "partial_on_patch", True) is False:
            serializer = copy.copy(serializer)
            serializer.partial = False
        return super().resolve_serializer(serializer, direction, bypass_extensions)

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        if field.read_only:
            return
        if isinstance(field, serializers.EmailField) and getattr(field, "states_email_pattern", False):
            schema.pop("format", None)  # ``format: email`` admits more than the shop takes (EMAIL_ADDRESS)
            schema["pattern"] = EMAIL_PATTERN
            return
        if (
            isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and schema.get("type") == "string"
            and "pattern" not in schema
            and "enum" not in schema
        ):
            schema["pattern"] = NOT_BLANK_PATTERN
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            least = max(field.min_length or 0, 0 if field.allow_empty else 1)
            if least:
                schema["minItems"] = max(schema.get("minItems", 0), least)
            if field.max_length is not None:
                schema["maxItems"] = min(schema.get("maxItems", field.max_length), field.max_length)
