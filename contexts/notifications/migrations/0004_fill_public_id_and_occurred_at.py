"""Fill the public id and the event's time of the messages ``0003`` found (see there), in batches of
``BATCH_SIZE`` rows by primary key, each batch committed on its own (``atomic = False``): the work grows with
the table, not with its square, and no lock outlives a batch. Run again after an interruption, it goes on
where it stopped (only rows still without a public id are read)."""

from django.db import migrations, transaction
from django.db.models import F

BATCH_SIZE = 2000


def fill(apps, schema_editor) -> None:
    from contexts.notifications.models import public_message_id

    Message = apps.get_model("notifications", "Message")
    alias = schema_editor.connection.alias
    rows = Message.objects.using(alias)
    last = 0
    while True:
        batch = list(
            rows.filter(pk__gt=last, public_id__isnull=True).order_by("pk").only("pk", "event_id", "kind")[:BATCH_SIZE]
        )
        if not batch:
            return
        for message in batch:
            message.public_id = public_message_id(message.event_id, message.kind)
        with transaction.atomic(using=alias):
            rows.bulk_update(batch, ["public_id"])
            rows.filter(pk__in=[m.pk for m in batch], occurred_at__isnull=True).update(occurred_at=F("created_at"))
        last = batch[-1].pk


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("notifications", "0003_public_id_and_occurred_at")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=False)]
