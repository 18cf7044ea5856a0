import signal

from django.core.management.base import BaseCommand, CommandError

from commerce import metrics
from commerce.eventbus.remote.consumer import PREFETCH, Consumer
from commerce.eventbus.subscriptions import subscriptions_of


class Command(BaseCommand):
    help = (
        "Consume the partition queues of a context this process holds a lease on (shared with the context's other "
        "consumer processes): each message applied to its subscriptions (inbox row and handler's writes in "
        "one transaction), acked after the commit; poison messages dead-lettered with their reason."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("context")
        parser.add_argument("--max-messages", type=int, default=None, help="Exit after handling this many.")
        parser.add_argument("--idle-exit", type=float, default=None, help="Exit after this many idle seconds.")
        parser.add_argument("--prefetch", type=int, default=PREFETCH)

    def handle(self, *args: object, context: str, max_messages, idle_exit, prefetch: int, **options: object) -> None:
        if not subscriptions_of(context):
            raise CommandError(f"This process knows no subscription of {context!r}: nothing to consume for.")
        consumer = Consumer(context, prefetch=prefetch)
        metrics.serve_process_metrics()  # METRICS_PORT: the consumer's lag, the mails' latency (docs/slo.md)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: consumer.stop())
        self.stdout.write(f"Consuming the partitions of {consumer.queues} it holds a lease on (SIGTERM to stop)")
        handled = consumer.run(max_messages=max_messages, idle_exit=idle_exit)
        self.stdout.write(f"Handled {handled} messages.")
