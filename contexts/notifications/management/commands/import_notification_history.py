"""``manage.py import_notification_history``: the backfill step of lifting notifications out.

Run with the service's settings, before its processes start (``bin/shop`` does, with ``LIFTED=notifications``)::

    DJANGO_SETTINGS_MODULE=services.notifications.settings python manage.py import_notification_history

It copies the monolith's messages and order contacts that the service does not hold yet into the service's
database (``contexts.notifications.services.history`` says what is copied and what is not). The monolith's
notifications database is found the way the monolith finds it: ``DATABASE_URL``, or with ``DATABASE_SPLIT=1``
``DATABASE_URL_NOTIFICATIONS`` or the database derived from ``DATABASE_URL`` (``<name>_notifications``,
``var/commerce_notifications.sqlite3``); ``--source-url`` names another. Safe to run again at any time.
"""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from commerce.database import database_for
from commerce.kernel_settings import database_config, derived_database_url, env_bool
from contexts.notifications.models import Message
from contexts.notifications.services.history import BATCH_SIZE, import_history

SOURCE_ALIAS = "notifications_history_source"


def monolith_notifications_url() -> str:
    """The URL of the monolith's notifications database, derived as ``commerce.settings`` derives it."""
    url = settings.DATABASE_URL
    if env_bool("DATABASE_SPLIT", False):
        return os.environ.get("DATABASE_URL_NOTIFICATIONS") or derived_database_url(
            url, "notifications", sqlite_file="commerce_notifications.sqlite3"
        )
    return url


def _where(config: dict[str, Any]) -> tuple[str, ...]:
    return (
        config["ENGINE"].rsplit(".", 1)[-1],
        str(config["NAME"]),
        config.get("HOST") or "",
        str(config.get("PORT") or ""),
    )


class Command(BaseCommand):
    help = "Copy the monolith's notification history (messages, order contacts) into this database; idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source-url", default="", help="the monolith's notifications database (default: derived)")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, source_url: str, batch_size: int, **options: Any) -> None:
        target = database_for("notifications")
        source = database_config(source_url or monolith_notifications_url())
        if _where(source) == _where(connections[target].settings_dict):
            raise CommandError(
                "The source is this deployable's own database: run the import with the service's settings "
                "(DJANGO_SETTINGS_MODULE=services.notifications.settings)."
            )
        if source["ENGINE"].endswith("sqlite3") and not Path(source["NAME"]).exists():
            raise CommandError(f"No monolith database at {source['NAME']} (run migrate_all with its settings first).")
        connections.settings[SOURCE_ALIAS] = connections.configure_settings(
            {DEFAULT_DB_ALIAS: {}, SOURCE_ALIAS: source}
        )[SOURCE_ALIAS]
        try:
            if Message._meta.db_table not in connections[SOURCE_ALIAS].introspection.table_names():
                raise CommandError(f"The source database {source['NAME']} holds no notification tables.")
            result = import_history(source=SOURCE_ALIAS, target=target, batch_size=batch_size)
        finally:
            connections[SOURCE_ALIAS].close()
        self.stdout.write(
            f"Notification history imported from {source['NAME']}: {result.messages_copied} messages copied "
            f"({result.messages_skipped} already here or only recorded there), {result.contacts_copied} order "
            f"contacts copied ({result.contacts_skipped} already here)."
        )
