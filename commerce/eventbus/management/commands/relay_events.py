import logging
import signal

from django.core.management.base import BaseCommand, CommandError

from commerce import metrics
from commerce.eventbus.remote.relay import BATCH_SIZE, BrokerUnavailable, Relay

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Publish the outbox's relay:* deliveries (events owed to lifted contexts) to the broker, with confirms; "
        "marked delivered after the broker's ack. Several may run at once on PostgreSQL; one on SQLite."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Relay what is due now and exit.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--idle-seconds", type=float, default=0.2, help="Pause when nothing is due.")

    def handle(self, *args: object, once: bool, batch_size: int, idle_seconds: float, **options: object) -> None:
        relay = Relay(batch_size=batch_size)
        if once:
            try:
                count = relay.run_once()
            except BrokerUnavailable as error:
                raise CommandError(f"The broker is unavailable; the events wait in the outbox: {error}") from error
            finally:
                relay.close()
            self.stdout.write(f"Relayed {count} deliveries.")
            return
        metrics.serve_process_metrics()  # METRICS_PORT: the relay's lag (docs/slo.md)
        stopping = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.append(True))
        self.stdout.write("Relaying events (SIGTERM to stop)")
        try:
            relay.run_forever(idle_seconds=idle_seconds, should_stop=lambda: bool(stopping))
        finally:
            relay.close()
