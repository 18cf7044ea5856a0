"""Move the messages and order contacts identity kept while it sent the mail into notifications' tables.

An installation upgrading keeps its customers' message history: each row of ``identity_notification``
and ``identity_ordercontact`` is copied, with its id (customers' ``/me/notifications`` ids stay the
same), into ``notifications_message`` and ``notifications_ordercontact``. Copying is idempotent (a row
already here is skipped), so running it again is harmless. In-flight deliveries and inbox rows of the
old subscriptions (``identity.<handler>``) are renamed to the new ones (``notifications.<handler>``),
so a dispatch alert waiting for its order is still delivered, and a redelivery is still a no-op.

Where the rows are read from is identity's database (``commerce.database.database_for``):

- **One database** (the embedded default): one ``INSERT … SELECT`` on SQLite and PostgreSQL alike;
  identity's ``0004`` then drops the old tables (it runs after this one).
- **Split mode** (``DATABASE_SPLIT=1``: notifications has a database of its own, identity stays on
  ``default``): the rows are read from identity's database and written here, in a transaction of
  this database that commits before anything is dropped. ``migrate_all`` migrates ``default`` first,
  where identity's ``0004`` finds the copy not made yet and leaves the old tables alone; this
  migration, on notifications' database, copies and then drops them. Migrated in the other order,
  identity's ``0004`` drops them. Either way the old tables go only once their rows are safe here.
- **The notifications service's own database** (only the kernel and notifications installed): no old
  tables to read, nothing to do; the history reaches it as events do from then on.
"""

from django.core.management.color import no_style
from django.db import DatabaseError, connections, migrations, transaction

from commerce.database import context_aliases, database_for

TABLES = (
    ("identity_notification", "notifications_message", "id"),
    ("identity_ordercontact", "notifications_ordercontact", "order_id"),
)
HANDLERS = (
    "welcome_customer_when_registered",
    "send_confirmation_when_order_placed",
    "alert_customer_when_shipment_dispatched",
    "tell_customer_when_order_cancelled",
    "tell_customer_when_refund_issued",
)
RENAMED = [(f"identity.{name}", f"notifications.{name}") for name in HANDLERS]
IDENTITY_DROPS = ("identity", "0004_delete_notification_delete_ordercontact")
BATCH = 1000


def _tables(connection) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def _columns(connection, table: str) -> list[str]:
    with connection.cursor() as cursor:
        return [column.name for column in connection.introspection.get_table_description(cursor, table)]


def applied(connection, app: str, name: str) -> bool:
    """Whether ``connection``'s database recorded this migration (False if it cannot tell yet)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM django_migrations WHERE app = %s AND name = %s", [app, name])
            return cursor.fetchone() is not None
    except DatabaseError:
        return False


def _copy_table(source, target, legacy: str, table: str, key: str) -> None:
    q = target.ops.quote_name
    columns = [column for column in _columns(source, legacy) if column in set(_columns(target, table))]
    names = ", ".join(q(column) for column in columns)
    if source.alias == target.alias:
        with target.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {q(table)} ({names}) SELECT {names} FROM {q(legacy)} "
                f"WHERE {q(key)} NOT IN (SELECT {q(key)} FROM {q(table)})"
            )
        return
    key_at = columns.index(key)
    with target.cursor() as cursor:
        cursor.execute(f"SELECT {q(key)} FROM {q(table)}")
        present = {str(value) for (value,) in cursor.fetchall()}
    placeholders = ", ".join(["%s"] * len(columns))
    with source.cursor() as reading:
        reading.execute(f"SELECT {names} FROM {source.ops.quote_name(legacy)} ORDER BY {source.ops.quote_name(key)}")
        while rows := reading.fetchmany(BATCH):
            fresh = [row for row in rows if str(row[key_at]) not in present]
            if fresh:
                with target.cursor() as cursor:
                    cursor.executemany(f"INSERT INTO {q(table)} ({names}) VALUES ({placeholders})", fresh)


def _rename_subscriptions(source, target) -> None:
    """Deliveries owed to the old subscriptions (in every publisher's outbox) and their inbox rows."""
    for alias in context_aliases():
        connection = connections[alias]
        if "eventbus_delivery" not in _tables(connection):
            continue
        with connection.cursor() as cursor:
            for old, new in RENAMED:
                cursor.execute("UPDATE eventbus_delivery SET subscription = %s WHERE subscription = %s", [new, old])
    if "eventbus_inboxentry" not in _tables(source) or "eventbus_inboxentry" not in _tables(target):
        return
    for old, new in RENAMED:
        if source.alias == target.alias:
            with target.cursor() as cursor:
                cursor.execute("UPDATE eventbus_inboxentry SET subscription = %s WHERE subscription = %s", [new, old])
            continue
        with source.cursor() as reading:
            reading.execute(
                "SELECT event_id, event_type, processed_at FROM eventbus_inboxentry WHERE subscription = %s", [old]
            )
            while rows := reading.fetchmany(BATCH):
                with target.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO eventbus_inboxentry (event_id, subscription, event_type, processed_at) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (event_id, subscription) DO NOTHING",
                        [(event_id, new, event_type, processed_at) for event_id, event_type, processed_at in rows],
                    )


def move_from_identity(apps, schema_editor) -> None:
    target = schema_editor.connection
    source = connections[database_for("identity")]
    if "identity_notification" not in _tables(source):
        return  # a new installation, or the service's own database: nothing to move
    with transaction.atomic(using=target.alias):
        for legacy, table, key in TABLES:
            if legacy in _tables(source):
                _copy_table(source, target, legacy, table, key)
        models = [apps.get_model("notifications", "Message")]
        statements = target.ops.sequence_reset_sql(no_style(), models)
        with target.cursor() as cursor:
            for statement in statements:  # PostgreSQL: new ids continue after the copied ones
                cursor.execute(statement)
    _rename_subscriptions(source, target)
    if source.alias != target.alias and applied(source, *IDENTITY_DROPS):
        # Split mode, identity's database migrated first: its 0004 left the old tables to us.
        with source.schema_editor() as editor:
            for legacy, _, _ in TABLES:
                if legacy in _tables(source):
                    editor.execute(f"DROP TABLE {source.ops.quote_name(legacy)}")


class Migration(migrations.Migration):
    # The copy commits on its own before anything is dropped (split mode drops in another database).
    atomic = False

    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(move_from_identity, migrations.RunPython.noop, elidable=False)]
