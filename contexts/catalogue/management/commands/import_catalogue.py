"""``manage.py import_catalogue FILE.csv [--dry-run]``: bulk upsert of products, variants, prices and stock."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contexts.catalogue.services import importing


class ProgressReporter:
    """A tqdm bar per phase on a terminal; a plain line every few thousand rows otherwise (logs, CI)."""

    def __init__(self, stream, *, interactive: bool) -> None:
        self.stream = stream
        self.interactive = interactive
        self.bars: dict = {}
        self.last_line: dict[str, int] = {}

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if self.interactive:
            from tqdm import tqdm

            bar = self.bars.get(phase)
            if bar is None:
                bar = self.bars[phase] = tqdm(total=total, desc=phase, unit="rows", file=self.stream, leave=True)
            if total is not None and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)
            if total is not None and done >= total:
                bar.close()
            return
        if done - self.last_line.get(phase, 0) >= 5000 or (total is not None and done >= total):
            if self.last_line.get(phase) == done:
                return
            self.last_line[phase] = done
            self.stream.write(f"{phase}: {done}" + (f"/{total}" if total else "") + " rows\n")

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


class Command(BaseCommand):
    help = (
        "Import a catalogue CSV (header: " + ",".join(importing.COLUMNS) + "[,images]). Every row is validated "
        "first; if any is bad nothing is imported and each bad row is listed (exit status 1)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8).")
        parser.add_argument("--dry-run", action="store_true", help="Validate only; write nothing.")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Threads for the price and stock writes (PostgreSQL only; default 1).",
        )
        parser.add_argument(
            "--unpublished",
            action="store_true",
            help="Create new products unpublished (existing ones keep their state).",
        )

    def handle(self, *args, file: Path, dry_run: bool, unpublished: bool, workers: int, **options) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        stream = getattr(self.stderr, "_out", sys.stderr)
        progress = ProgressReporter(stream, interactive=stream.isatty() and options.get("verbosity", 1) > 0)
        try:
            report = importing.import_catalogue(
                file, dry_run=dry_run, progress=progress, publish_new=not unpublished, workers=max(workers, 1)
            )
        except importing.ImportFailed as failure:
            progress.close()
            for error in failure.errors:
                self.stderr.write(f"{file}: {error}")
            if failure.total > len(failure.errors):
                self.stderr.write(f"… and {failure.total - len(failure.errors)} more error(s).")
            raise CommandError(f"{failure.total} error(s); nothing was imported.", returncode=1) from None
        progress.close()
        if dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{file}: {report.rows} rows are valid ({report.products} products, {report.variants} variants, "
                    f"warehouses {', '.join(report.warehouses) or 'none'}). Dry run: nothing written."
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{file}: {report.rows} rows imported: products {report.products_created} created, "
                f"{report.products_updated} updated; variants {report.variants_created} created, "
                f"{report.variants_updated} updated; {report.prices_set} prices and {report.stock_levels_set} stock "
                f"levels set; {report.listing_rows_written} listing rows written."
            )
        )
