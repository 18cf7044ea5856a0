from rest_framework import serializers


class NotificationOutput(serializers.Serializer):
    """One of the caller's messages (API.md ``/me/notifications``): never its body or address. Named as
    it was when identity served it, so the schema's component (and generated clients) keep its name.

    Only what every deployable holding the message knows alike, so the monolith and the service answer the
    same JSON while the gateway splits the path between them: the id derived from the event and kind, the
    event's time as ``created_at``. Whether and when it was sent is the sender's alone (the export has it)."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    kind = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(source="occurred_at", read_only=True)
    order_id = serializers.UUIDField(read_only=True, allow_null=True)
    order_number = serializers.CharField(read_only=True)


class NotificationExportOutput(serializers.Serializer):
    """One of the caller's messages as their personal-data export holds it (``CustomerMessage``): with its
    address and text, except a secret one's (a reset link), and whether and when it was sent (read from the
    deployable that sends)."""

    id = serializers.UUIDField(read_only=True)
    kind = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True)
    recipient = serializers.CharField(read_only=True)
    order_id = serializers.UUIDField(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    body_text = serializers.CharField(read_only=True)


class NotificationExportListOutput(serializers.Serializer):
    results = NotificationExportOutput(many=True, read_only=True)
