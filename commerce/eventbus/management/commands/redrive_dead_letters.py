from django.core.management.base import BaseCommand

from commerce.eventbus.remote import amqp as port


class Command(BaseCommand):
    help = (
        "Move the messages in <prefix>.<context>.dead back to the context's queue (properties kept, the "
        "dead-letter reason dropped), once what made them fail is fixed: an event that waited too long for "
        "another, a handler fixed by a release. Copies are harmless: the consumer's inbox absorbs them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("context")

    def handle(self, *args: object, context: str, **options: object) -> None:
        moved = port.redrive(context)
        self.stdout.write(f"Moved {moved} messages from {port.names().dead_queue(context)} back to its queue.")
