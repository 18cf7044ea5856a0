"""Rules on the catalogue's own values that need no database: what a slug, a text and an attribute map may hold.

One place for them, so the admin forms (model field validators), the services and the CSV importer
refuse the same things, before a database does (PostgreSQL refuses NUL in text and in ``jsonb``).
"""

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)
SLUG_MAX = 200

# Unicode category Cc: C0 controls, DEL and C1 controls (NUL included).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same, but tab, line feed and carriage return: what a multi-line text (a description) may hold.
_CONTROL_IN_PROSE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

ATTRIBUTE_KEY_MAX = 64
ATTRIBUTE_VALUE_MAX = 200
ATTRIBUTES_MAX = 50


def is_slug(value: object) -> bool:
    """A product slug as the catalogue stores it: lower-case ASCII letters, digits, single hyphens, ≤ 200."""
    return isinstance(value, str) and len(value) <= SLUG_MAX and SLUG.fullmatch(value) is not None


def has_control_characters(text: str, *, prose: bool = False) -> bool:
    """Whether ``text`` holds a control character (NUL, escape, …); ``prose`` allows tab and line breaks."""
    return (_CONTROL_IN_PROSE if prose else _CONTROL).search(text) is not None


def attribute_problems(value: Any) -> list[str]:
    """What is wrong with an attribute map; empty when it is a ``{text: text}`` object within bounds."""
    if not isinstance(value, Mapping):
        return ['Attributes are a JSON object of text to text, like {"colour": "blue"} ({} for none).']
    if len(value) > ATTRIBUTES_MAX:
        return [f"At most {ATTRIBUTES_MAX} attributes."]
    problems = []
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > ATTRIBUTE_KEY_MAX:
            problems.append(f"Attribute name {key!r} must be non-empty text of at most {ATTRIBUTE_KEY_MAX} characters.")
        elif has_control_characters(key):
            problems.append(f"Attribute name {key!r} holds a control character.")
        if not isinstance(item, str) or len(item) > ATTRIBUTE_VALUE_MAX:
            problems.append(f"Attribute {key!r} must have a text value of at most {ATTRIBUTE_VALUE_MAX} characters.")
        elif has_control_characters(item):
            problems.append(f"Attribute {key!r} holds a control character.")
    return problems


def text_attributes(value: Any) -> dict[str, str]:
    """The text entries of a stored attribute map: what readers show, whatever a row written before
    the rule (or by raw SQL) holds; nothing else is ever served or indexed."""
    if not isinstance(value, Mapping):
        return {}
    return {key: item for key, item in value.items() if isinstance(key, str) and isinstance(item, str)}


def validate_attributes(value: Any) -> None:
    """Model field validator: ``{str: str}``, non-empty names, bounded lengths, no control characters.

    :raises ValidationError: listing every problem.
    """
    problems = attribute_problems(value)
    if problems:
        raise ValidationError(problems, code="invalid_attributes")


def validate_no_control_characters(value: Any) -> None:
    """Model field validator for one-line texts (names, SKUs)."""
    if isinstance(value, str) and has_control_characters(value):
        raise ValidationError("Control characters (NUL, tab, line breaks, …) are not allowed.", code="control")


def validate_prose(value: Any) -> None:
    """Model field validator for multi-line texts (descriptions): tab and line breaks allowed, other controls not."""
    if isinstance(value, str) and has_control_characters(value, prose=True):
        raise ValidationError("Control characters (NUL, escape, …) are not allowed.", code="control")
