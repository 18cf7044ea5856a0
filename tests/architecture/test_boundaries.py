"""DESIGN.md's rules that import-linter cannot see: data ownership and the shape of published APIs."""

import dataclasses
import importlib
import inspect
import types
import typing
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models

CONTEXTS = settings.BUSINESS_CONTEXTS
CONTEXTS_DIR = Path(__file__).resolve().parents[2] / "contexts"

# Identity's user model is Django's auth user: it relates to auth's groups and permissions by design.
ALLOWED_FOREIGN_APPS = {"identity": {"auth"}}

# A module may grow into a package of private modules (STYLE.md), so ``services`` is services.py or services/.
STANDARD_MODULES = {
    "__init__",
    "apps",
    "api",
    "events",
    "exceptions",
    "models",
    "services",
    "selectors",
    "handlers",
    "tasks",
    "admin",
    "rest",
    "migrations",
}


def context_models() -> list[type[models.Model]]:
    return [model for label in CONTEXTS for model in apps.get_app_config(label).get_models()]


@pytest.mark.parametrize("model", context_models(), ids=lambda m: m._meta.label)
def test_no_relation_crosses_a_context(model):
    own = model._meta.app_label
    for field in [*model._meta.fields, *model._meta.many_to_many]:  # forward relations: the model's own
        if not field.is_relation or field.related_model is None:
            continue
        target = field.related_model._meta.app_label
        assert target == own or target in ALLOWED_FOREIGN_APPS.get(own, set()), (
            f"{model._meta.label}.{field.name} relates to {field.related_model._meta.label}: "
            "hold a plain id and a snapshot instead"
        )


def test_the_relation_check_notices_a_cross_context_foreign_key():
    """The walk above would catch a violation: a throw-away model relating across contexts fails it."""

    class Smuggler(models.Model):  # noqa: DJ008
        customer = models.ForeignKey("identity.User", on_delete=models.CASCADE)

        class Meta:
            app_label = "pricing"

    try:
        with pytest.raises(AssertionError, match=r"relates to identity\.User"):
            test_no_relation_crosses_a_context(Smuggler)
    finally:
        del apps.all_models["pricing"]["smuggler"]
        apps.clear_cache()


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_context_has_the_same_module_set(context):
    present = {path.stem for path in (CONTEXTS_DIR / context).iterdir() if not path.name.startswith((".", "__py"))}
    missing = STANDARD_MODULES - present
    assert not missing, f"contexts/{context} lacks {sorted(missing)}"


PRIMITIVES = (type(None), bool, int, float, str, Decimal, UUID, datetime, date, timedelta)


def is_dto_type(annotation: object) -> bool:
    """Plain values, frozen dataclasses, and tuples/dicts/unions of them; never models or querysets."""
    if annotation in PRIMITIVES:
        return True
    origin = typing.get_origin(annotation)
    if origin in (tuple, dict, list, frozenset, typing.Union, types.UnionType, typing.Literal):
        return origin is typing.Literal or all(
            arg is Ellipsis or is_dto_type(arg) for arg in typing.get_args(annotation)
        )
    if inspect.isclass(annotation) and dataclasses.is_dataclass(annotation):
        return annotation.__dataclass_params__.frozen
    return False


def public_api_functions(context: str) -> list[tuple[str, object]]:
    """The functions a context publishes: its api's ``__all__`` when it declares one (an api that is a
    package re-exports functions defined in its private modules), otherwise the api module's own."""
    module = importlib.import_module(f"contexts.{context}.api")
    if hasattr(module, "__all__"):
        members = [(name, getattr(module, name)) for name in module.__all__]
        return [(name, member) for name, member in members if inspect.isfunction(member)]
    return [
        (name, function)
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__ and not name.startswith("_")
    ]


def all_api_functions() -> list:
    """Each as ``context.name``: a function's repr holds its address, which differs between parallel test
    processes (pytest-xdist), and they must all collect the same test ids."""
    return [
        pytest.param(context, name, function, id=f"{context}.{name}")
        for context in CONTEXTS
        for name, function in public_api_functions(context)
    ]


@pytest.mark.parametrize(("context", "name", "function"), all_api_functions())
def test_public_api_functions_are_keyword_only_typed_and_return_dtos(context, name, function):
    hints = typing.get_type_hints(function)
    signature = inspect.signature(function)
    for parameter in signature.parameters.values():
        assert parameter.kind == parameter.KEYWORD_ONLY, f"{context}.api.{name}({parameter.name}) is not keyword-only"
        assert parameter.name in hints, f"{context}.api.{name}({parameter.name}) has no type hint"
    assert "return" in hints, f"{context}.api.{name} has no return annotation"
    assert is_dto_type(hints["return"]), f"{context}.api.{name} returns {hints['return']!r}, not a DTO"
    assert function.__doc__, f"{context}.api.{name} has no docstring"


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_context_publishes_functions_the_api_check_can_see(context):
    """An api split into a package must not hide its functions from the check above."""
    assert public_api_functions(context), f"no public function found in contexts.{context}.api"


def test_the_dto_check_refuses_model_instances_and_querysets():
    from contexts.identity.models import User

    assert not is_dto_type(User)
    assert not is_dto_type(models.QuerySet)
    assert is_dto_type(tuple[int, ...])


def test_events_are_frozen_dataclasses_with_a_name_and_version():
    from commerce.eventbus.types import registered_event_types

    for name, event_type in registered_event_types().items():
        assert event_type.__dataclass_params__.frozen, name
        assert event_type.event_version >= 1, name
