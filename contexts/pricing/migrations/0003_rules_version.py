"""The rules token: triggers replace it on every write to the tables a quote keeps in memory."""

from django.db import migrations, models

TABLES = (
    "pricing_promotion",
    "pricing_taxrate",
    "pricing_shippingzone",
    "pricing_shippingmethod",
    "pricing_shippingrate",
)

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION pricing_rules_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pricing_rulesversion (id, token) VALUES (1, replace(gen_random_uuid()::text, '-', ''))
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END $$;
"""


def create_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_FUNCTION)
            for table in TABLES:
                cursor.execute(
                    f"CREATE TRIGGER {table}_rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION pricing_rules_changed()"
                )
            cursor.execute("INSERT INTO pricing_rulesversion (id, token) VALUES (1, replace(gen_random_uuid()::text, '-', ''))")
        elif connection.vendor == "sqlite":
            for table in TABLES:
                for event in ("INSERT", "UPDATE", "DELETE"):
                    cursor.execute(
                        f"CREATE TRIGGER {table}_rules_changed_{event.lower()} AFTER {event} ON {table} BEGIN "
                        "INSERT OR REPLACE INTO pricing_rulesversion (id, token) VALUES (1, lower(hex(randomblob(16)))); "
                        "END"
                    )
            cursor.execute("INSERT INTO pricing_rulesversion (id, token) VALUES (1, lower(hex(randomblob(16))))")
        # Another database gets no triggers and no row: quotes then read the rules every time.


def drop_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in TABLES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_rules_changed ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS pricing_rules_changed()")
        elif connection.vendor == "sqlite":
            for table in TABLES:
                for event in ("insert", "update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {table}_rules_changed_{event}")


class Migration(migrations.Migration):
    dependencies = [
        ("pricing", "0002_shipping_and_tax"),
    ]

    operations = [
        migrations.CreateModel(
            name="RulesVersion",
            fields=[
                ("id", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("token", models.CharField(max_length=32)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
