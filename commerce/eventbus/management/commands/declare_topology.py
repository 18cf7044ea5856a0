from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from commerce.eventbus.remote import amqp as port


class Command(BaseCommand):
    help = (
        "Declare the broker's topology for the lifted contexts (or those named): the events exchange, each "
        "context's quorum queue bound to the event types it subscribes to, the dead-letter exchange and queues. "
        "Idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("contexts", nargs="*", help="Consuming contexts (default: settings.LIFTED).")

    def handle(self, *args: object, contexts: list[str], **options: object) -> None:
        contexts = contexts or sorted(settings.LIFTED)
        try:
            declared = port.declare(contexts)
        except port.CONNECTION_ERRORS as error:
            raise CommandError(
                f"Could not declare the topology on the broker: {type(error).__name__}: {error}"
            ) from error
        names = port.names()
        self.stdout.write(f"Exchange {names.exchange} (topic), dead letters {names.dead_exchange} (direct)")
        for queue, bound in declared.items():
            self.stdout.write(f"Queue {queue} (quorum) <- {', '.join(bound) or 'nothing: no subscription'}")
        if not contexts:
            self.stdout.write("No consuming context (LIFTED is empty): only the exchanges.")
