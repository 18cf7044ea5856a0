from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from commerce.eventbus.remote import amqp as port


class Command(BaseCommand):
    help = (
        "Declare the broker's topology for the lifted contexts (or those named): the events exchange, each "
        "context's partition queues bound to the event types it subscribes to, the dead-letter and wait exchanges "
        "and queues; a context's single queue from before partitions is unbound, emptied into the partition "
        "queues and deleted. Idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("contexts", nargs="*", help="Consuming contexts (default: settings.LIFTED).")

    def handle(self, *args: object, contexts: list[str], **options: object) -> None:
        contexts = contexts or sorted(settings.LIFTED)
        notes: list[str] = []
        try:
            declared = port.declare(contexts, notes=notes)
        except port.CONNECTION_ERRORS as error:
            raise CommandError(
                f"Could not declare the topology on the broker: {type(error).__name__}: {error}"
            ) from error
        names = port.names()
        self.stdout.write(f"Exchange {names.exchange} (topic), dead letters {names.dead_exchange} (direct)")
        for queue, bound in declared.items():
            self.stdout.write(f"Queue {queue} (quorum) <- {', '.join(bound) or 'nothing: no subscription'}")
        for note in notes:
            self.stdout.write(note)
        if not contexts:
            self.stdout.write("No consuming context (LIFTED is empty): only the exchanges.")
