"""Give every message what both deployables know of it alike: a public id derived from ``(event_id, kind)``
and the time its event occurred.

While notifications is being moved, the monolith (recording only) and the service (recording and sending)
both hold a customer's messages; the row's own ``id`` and ``created_at`` are each database's, so the two
``/me/notifications`` answers differed. Existing rows get their public id computed here (the same function
new rows use) and, since the event's time was never kept, ``occurred_at`` = ``created_at``: the closest
known, and the same on both sides for rows the history import copied (it copies ``created_at``).

In batches (a table of millions is never held in memory), on whichever database holds notifications.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F

BATCH_SIZE = 2000


def fill(apps, schema_editor) -> None:
    from contexts.notifications.models import public_message_id

    Message = apps.get_model("notifications", "Message")
    rows = Message.objects.using(schema_editor.connection.alias)
    rows.filter(occurred_at__isnull=True).update(occurred_at=F("created_at"))
    while True:
        batch = list(rows.filter(public_id__isnull=True).order_by("pk").only("pk", "event_id", "kind")[:BATCH_SIZE])
        if not batch:
            return
        for message in batch:
            message.public_id = public_message_id(message.event_id, message.kind)
        rows.bulk_update(batch, ["public_id"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_move_from_identity")]

    operations = [
        migrations.AddField(model_name="message", name="public_id", field=models.UUIDField(null=True, editable=False)),
        migrations.AddField(model_name="message", name="occurred_at", field=models.DateTimeField(null=True)),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="message", name="public_id", field=models.UUIDField(unique=True, editable=False)
        ),
        migrations.AlterField(
            model_name="message", name="occurred_at", field=models.DateTimeField(default=django.utils.timezone.now)
        ),
        migrations.AlterModelOptions(name="message", options={"ordering": ["-occurred_at", "-public_id"]}),
    ]
