"""Routing each business context to its own database (DESIGN.md rule 3).

``CONTEXT_DATABASES`` maps a context's app label to a database alias. In the embedded default every
context maps to ``default``; in split mode each has its own, and this router makes sure a model is
read, written and migrated only where its context lives, and that no relation crosses two aliases.
The kernel's per-context tables (the event bus's, the Idempotency-Key records) live in every alias,
since each context's outbox, inbox and stored answers must commit with its own data; they are always
used with an explicit alias.
"""

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from weakref import WeakKeyDictionary

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Field, Model

# Kernel apps whose tables exist in every context's database, used with an explicit alias.
PER_CONTEXT_APPS = frozenset({"eventbus", "idempotency"})


def database_for(context: str) -> str:
    """The database alias that holds ``context``'s tables (``default`` for Django's own apps)."""
    return settings.CONTEXT_DATABASES.get(context, "default")


def atomic_in(context: str, *, durable: bool = False) -> transaction.Atomic:
    """A transaction on ``context``'s own database: the only kind of transaction a service opens."""
    return transaction.atomic(using=database_for(context), durable=durable)


def statement_in(context: str) -> AbstractContextManager:
    """For one statement that may fail (a unique key): a savepoint inside a caller's transaction, so its
    failure leaves that transaction usable; outside one, nothing: the statement commits by itself, with
    no BEGIN and COMMIT around it (two round trips saved)."""
    if transaction.get_connection(database_for(context)).in_atomic_block:
        return atomic_in(context)
    return nullcontext()


def insert_rows(model: type[Model], rows: Sequence[Model], *, using: str) -> None:
    """Insert ``rows`` (new, their ids left to the database) in one statement of its own, outside any
    transaction: for a write that needs no other in its transaction (a log), where ``bulk_create``
    would wrap the one INSERT in a BEGIN and a COMMIT. Inside a transaction it is part of it."""
    if not rows:
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    for row in rows:
        for field in fields:
            field.pre_save(row, add=True)  # auto_now(_add) and the like, as save() would
    model._base_manager.using(using)._insert(rows, fields=fields, using=using)


_Converters = list[tuple[int, list[Callable[..., Any]], Any]]
_converters: "WeakKeyDictionary[Any, dict[tuple[Field, ...], _Converters]]" = WeakKeyDictionary()


def _converters_for(connection: Any, fields: tuple[Field, ...]) -> _Converters:
    """What the ORM applies to each of ``fields``' columns read from ``connection`` (the compiler's
    ``get_converters``), by position: on SQLite text to decimals and datetimes, 0 and 1 to booleans."""
    known = _converters.setdefault(connection, {})
    if fields not in known:
        found = []
        for index, field in enumerate(fields):
            column = field.get_col(field.model._meta.db_table)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                found.append((index, functions, column))
        known[fields] = found
    return known[fields]


def select_rows(sql: str, params: Sequence[object], *, using: str, fields: Sequence[Field]) -> list[list[Any]]:
    """The rows of a plain ``SELECT`` (names from code, values as ``params``), its first columns those of
    ``fields`` in order and converted as the ORM converts them, any further ones as the database gave
    them: for a read on every request, where building the ORM's query costs more than running it."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [list(row) for row in cursor.fetchall()]
    converters = _converters_for(connection, tuple(fields))
    if converters:
        for row in rows:
            for index, functions, column in converters:
                value = row[index]
                for function in functions:
                    value = function(value, column, connection)
                row[index] = value
    return rows


def context_aliases() -> tuple[str, ...]:
    """Every alias that holds a context's data (``default`` first), each once."""
    seen = dict.fromkeys(["default", *settings.CONTEXT_DATABASES.values()])
    return tuple(seen)


class ContextRouter:
    def _alias(self, model: type[Model]) -> str | None:
        label = model._meta.app_label
        if label in PER_CONTEXT_APPS:
            return None
        return database_for(label)

    def db_for_read(self, model: type[Model], **hints: object) -> str | None:
        instance = hints.get("instance")
        if model._meta.app_label in PER_CONTEXT_APPS and instance is not None:
            return instance._state.db
        return self._alias(model)

    def db_for_write(self, model: type[Model], **hints: object) -> str | None:
        return self.db_for_read(model, **hints)

    def allow_relation(self, obj1: Model, obj2: Model, **hints: object) -> bool | None:
        return obj1._state.db == obj2._state.db if obj1._state.db and obj2._state.db else None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: object) -> bool:
        if app_label in PER_CONTEXT_APPS:
            return db in context_aliases()
        return database_for(app_label) == db
