"""Identity no longer keeps messages or order contacts: notifications does (its ``0002`` moved the rows).

The old tables are dropped only once their rows are safe in notifications' tables: at once where both
contexts share a database (notifications' ``0002`` ran first, in this same database), or in split mode
once notifications' database recorded its ``0002``. Split mode migrated ``default`` first finds that
copy not made yet, and leaves the tables to notifications' ``0002``, which drops them after copying.
Empty tables (a new installation) are dropped at once.
"""

from django.db import connections, migrations

from commerce.database import database_for

LEGACY_TABLES = ("identity_notification", "identity_ordercontact")
NOTIFICATIONS_COPIES = ("notifications", "0002_move_from_identity")


def _applied(connection, app: str, name: str) -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM django_migrations WHERE app = %s AND name = %s", [app, name])
            return cursor.fetchone() is not None
    except Exception:  # noqa: BLE001 (that database does not exist or is not migrated yet)
        return False


def drop_once_moved(apps, schema_editor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        present = [table for table in LEGACY_TABLES if table in connection.introspection.table_names(cursor)]
        empty = True
        for table in present:
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
            empty = empty and cursor.fetchone() is None
    notifications = connections[database_for("notifications")]
    if not present:
        return
    if not (empty or notifications.alias == connection.alias or _applied(notifications, *NOTIFICATIONS_COPIES)):
        print(
            "\n    identity's old notification tables are kept until notifications' database has copied them"
            f" (migrate --database {notifications.alias}): that migration drops them."
        )
        return
    for table in present:
        schema_editor.execute(f"DROP TABLE {connection.ops.quote_name(table)}")


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0003_token_generation"),
        ("notifications", "0002_move_from_identity"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Notification"),
                migrations.DeleteModel(name="OrderContact"),
            ],
            database_operations=[migrations.RunPython(drop_once_moved, migrations.RunPython.noop, elidable=False)],
        )
    ]
