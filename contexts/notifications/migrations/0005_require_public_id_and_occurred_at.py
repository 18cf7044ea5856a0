"""Every message has its public id and its event's time now (``0004``): make them required, the public id
unique, and list messages by them (see ``0003``)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_fill_public_id_and_occurred_at")]

    operations = [
        migrations.AlterField(
            model_name="message", name="public_id", field=models.UUIDField(unique=True, editable=False)
        ),
        migrations.AlterField(
            model_name="message", name="occurred_at", field=models.DateTimeField(default=django.utils.timezone.now)
        ),
        migrations.AlterModelOptions(name="message", options={"ordering": ["-occurred_at", "-public_id"]}),
    ]
