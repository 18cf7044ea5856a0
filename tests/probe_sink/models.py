from django.db import models


class ProbeCounter(models.Model):
    """How many times the probe's handler applied an event with this key (must end at 1)."""

    key = models.CharField(max_length=255, unique=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}={self.count}"
