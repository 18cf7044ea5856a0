"""The checkout saga's state moves from the order into its own row (issue 22, item 11), with the
step log under it; existing orders keep their state, lease, attempts, failure and log."""

import django.db.models.deletion
from django.db import migrations, models


def number_unnumbered_orders_back(apps, schema_editor):
    """Going back, ``number`` is required again: a pending or failed order (numbered only at confirmation
    since this migration) gets ``F`` and 12 hex digits of its id, which no counter number looks like."""
    orders = apps.get_model("orders", "Order").objects.using(schema_editor.connection.alias)
    for order in orders.filter(number__isnull=True).only("pk"):
        orders.filter(pk=order.pk).update(number=f"F{order.pk.hex[:12]}")


def copy_saga_state(apps, schema_editor):
    alias = schema_editor.connection.alias
    Order = apps.get_model("orders", "Order")
    CheckoutSaga = apps.get_model("orders", "CheckoutSaga")
    SagaStep = apps.get_model("orders", "SagaStep")
    for order in Order.objects.using(alias).iterator():
        extra = dict(order.failure_extra or {})
        status = extra.pop("http_status", None)
        last = (
            SagaStep.objects.using(alias)
            .filter(order_id=order.pk, compensation=False, outcome="done")
            .order_by("-started_at", "-id")
            .values_list("name", flat=True)
            .first()
        )
        CheckoutSaga.objects.using(alias).create(
            order_id=order.pk,
            state=order.saga_state,
            position=last or "",
            lease_holder=order.saga_lease_holder,
            lease_until=order.saga_lease_until,
            attempts=order.saga_attempts,
            failure_code=order.failure_code,
            failure_status=int(status) if status is not None else (409 if order.failure_code else None),
            failure_detail=order.failure_detail,
            failure_extra=extra,
        )


def copy_saga_state_back(apps, schema_editor):
    alias = schema_editor.connection.alias
    Order = apps.get_model("orders", "Order")
    CheckoutSaga = apps.get_model("orders", "CheckoutSaga")
    for saga in CheckoutSaga.objects.using(alias).iterator():
        extra = dict(saga.failure_extra)
        if saga.failure_status is not None:
            extra["http_status"] = saga.failure_status
        Order.objects.using(alias).filter(pk=saga.order_id).update(
            saga_state=saga.state if saga.state != "compensating" else "running",
            saga_lease_holder=saga.lease_holder,
            saga_lease_until=saga.lease_until,
            saga_attempts=saga.attempts,
            failure_code=saga.failure_code,
            failure_detail=saga.failure_detail,
            failure_extra=extra,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_idempotency_records_in_the_kernel"),
    ]

    operations = [
        migrations.CreateModel(
            name="CheckoutSaga",
            fields=[
                (
                    "order",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="saga",
                        serialize=False,
                        to="orders.order",
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("running", "Running"),
                            ("compensating", "Compensating"),
                            ("completed", "Completed"),
                            ("compensated", "Compensated"),
                        ],
                        default="running",
                        max_length=16,
                    ),
                ),
                (
                    "position",
                    models.CharField(blank=True, help_text="The last forward step that completed.", max_length=40),
                ),
                ("lease_holder", models.CharField(blank=True, max_length=40)),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0, help_text="How many times it was healed.")),
                ("failure_code", models.CharField(blank=True, db_index=True, max_length=40)),
                ("failure_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("failure_detail", models.TextField(blank=True)),
                (
                    "failure_extra",
                    models.JSONField(blank=True, default=dict, help_text="The error's extra fields, for replays."),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "indexes": [models.Index(fields=["state", "updated_at"], name="orders_saga_state_updated_at")],
            },
        ),
        migrations.RunPython(copy_saga_state, copy_saga_state_back),
        # a saga's primary key is its order's id: the log's rows keep their values and point at it
        migrations.RenameField(model_name="sagastep", old_name="order", new_name="saga"),
        migrations.AlterField(
            model_name="sagastep",
            name="saga",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="steps", to="orders.checkoutsaga"
            ),
        ),
        migrations.AlterModelOptions(name="sagastep", options={"ordering": ("saga", "started_at", "id")}),
        migrations.RemoveIndex(model_name="order", name="orders_saga_state_updated"),
        migrations.RemoveField(model_name="order", name="failure_code"),
        migrations.RemoveField(model_name="order", name="failure_detail"),
        migrations.RemoveField(model_name="order", name="failure_extra"),
        migrations.RemoveField(model_name="order", name="saga_attempts"),
        migrations.RemoveField(model_name="order", name="saga_lease_holder"),
        migrations.RemoveField(model_name="order", name="saga_lease_until"),
        migrations.RemoveField(model_name="order", name="saga_state"),
        migrations.AlterField(
            model_name="order",
            name="number",
            field=models.CharField(
                blank=True, help_text="Given when the order is confirmed.", max_length=20, null=True, unique=True
            ),
        ),
        # Backwards this runs first, so the column can be required again.
        migrations.RunPython(migrations.RunPython.noop, number_unnumbered_orders_back),
    ]
