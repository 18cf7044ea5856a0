"""What the contexts' REST modules declare about the API, loaded with them: patterns their inputs
share with the schema and the links between operations.

Views annotate their methods with drf-spectacular's own ``extend_schema`` (``drf_spectacular.utils``).
The schema class and the post-processing hooks are ``commerce.openapi.schema``'s.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Only so that a view written against the former deferred wrapper still imports while branches merge:
# views import ``extend_schema`` from ``drf_spectacular.utils`` (tests/http/test_openapi_schema.py says
# which do not).
from drf_spectacular.utils import extend_schema  # noqa: F401

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


# --- Links between operations --------------------------------------------------------------------
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
    operation, by ``operationId``): ``schema.document_links`` puts them in the schema."""
    for link in links:
        _LINKS[(link.source, link.status, link.name)] = link


def declared_links() -> list[Link]:
    return list(_LINKS.values())
