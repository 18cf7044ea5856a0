from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections
from django.db.utils import OperationalError


class Command(BaseCommand):
    help = "Create (PostgreSQL) and migrate every configured database: in split mode each context's own too."

    def handle(self, *args: object, **options: object) -> None:
        for alias in settings.DATABASES:
            self._ensure_exists(alias)
            self.stdout.write(f"==> migrating database '{alias}'")
            call_command("migrate", database=alias, interactive=False, verbosity=options.get("verbosity", 1))

    def _ensure_exists(self, alias: str) -> None:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            return  # SQLite creates its file on first use
        try:
            connection.ensure_connection()
        except OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
            name = connection.settings_dict["NAME"]
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
            self.stdout.write(f"==> created database {name}")
