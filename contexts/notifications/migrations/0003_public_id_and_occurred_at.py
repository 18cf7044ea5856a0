"""Give every message what both deployables know of it alike: a public id derived from ``(event_id, kind)``
and the time its event occurred.

While notifications is being moved, the monolith (recording only) and the service (recording and sending)
both hold a customer's messages; the row's own ``id`` and ``created_at`` are each database's, so the two
``/me/notifications`` answers differed. Existing rows get their public id computed (the same function new
rows use) and, since the event's time was never kept, ``occurred_at`` = ``created_at``: the closest known,
and the same on both sides for rows the history import copied (it copies ``created_at``).

Three migrations, so a big table is never locked for the whole fill: this one adds the two columns,
nullable (no rewrite of the table, a moment's lock); ``0004`` fills them in batches, each committed on its
own (the table stays open to the list and to recording meanwhile; a new row gets both from ``Message.save``);
``0005`` makes them required and unique once every row has them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_move_from_identity")]

    operations = [
        migrations.AddField(model_name="message", name="public_id", field=models.UUIDField(null=True, editable=False)),
        migrations.AddField(model_name="message", name="occurred_at", field=models.DateTimeField(null=True)),
    ]
