"""Checkout benchmark: the baseline commit's shop, the working tree's, the one-insert floor and the established
Django shop, side by side.

One run, on one machine, three servers, each gunicorn with ``BENCH_WORKERS`` (2) sync workers from this
checkout's ``.venv``, on PostgreSQL, mail to Django's dummy backend, connections kept 60 s
(``DATABASE_CONN_MAX_AGE``)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/checkout

- **old**: the shop at ``BENCH_BASELINE`` (default ``33fedac``, where issue 24 was measured), checked out
  with ``git worktree add --detach`` into a temporary directory (removed at the end), on the database
  ``<name>_baseline``, created and migrated by its own ``manage.py migrate_all``; port ``BENCH_PORT`` + 1.
  It runs on this ``.venv``: if its ``requirements.lock`` differs from the working tree's, the run stops.
  ``BENCH_BASELINE=none`` leaves it out (then only new and floor run, and no old/new ratio is printed).
- **new**: the working tree, on ``DATABASE_URL`` itself (migrated by ``manage.py migrate_all``); port
  ``BENCH_PORT`` (8151).
- **floor**: ``bench/http/floor``'s bare Django view ``POST /checkout``: the same JSON body as
  ``/api/v1/checkout``, one order row and its line inserted in one transaction, 201 with the order's id;
  on ``<name>_floor`` (tables by ``migrate --run-syncdb``); port ``BENCH_PORT`` + 2.
- **estab**: the established Django shop, django-oscar 4.2.1 with django-oscar-api 3.3.0
  (``bench.established.run``, from its own ``.venv-established``), for the cart path and the flash sale, on
  ``ESTABLISHED_DATABASE_URL`` (default ``<name>_established``), port ``ESTABLISHED_PORT`` (``BENCH_PORT`` + 3),
  the same ``BENCH_WORKERS`` and ``DATABASE_CONN_MAX_AGE``; ``BENCH_PRODUCTS`` (2000) products.
  ``BENCH_ESTABLISHED=0`` leaves it out.

Each shop's catalogue (``BENCH_SKUS`` (64) spread SKUs, a hot SKU, one flash-sale SKU per round, and plain
products up to ``BENCH_PRODUCTS`` (2000), as many as the established shop's) and every cart of the run (guest carts of one line) are made before any timing, by that shop's own code: ``_shop.py``
runs in a subprocess with the tree first on ``PYTHONPATH`` and its database in ``DATABASE_URL``. Then, in
``BENCH_ROUNDS`` (3) rounds whose server order alternates (old, new, floor; then floor, new, old; ...) so
that a noisy neighbour weighs on all alike (the established shop last, then first, ...), with ``BENCH_CLIENTS``
(16) concurrent clients for every scenario and every shop:

- **spread checkouts**: ``BENCH_CHECKOUTS`` (400) checkouts over the spread SKUs (old, new, floor):
  checkouts per second (201 answers ÷ wall time) and the request's p50/p95/p99/max latency;
- **hot SKU**: as many checkouts all on one SKU with a million units (old, new);
- **flash sale**: ``BENCH_FLASH_BUYERS`` (200) buyers rushing ``BENCH_FLASH_UNITS`` (50) units of a fresh SKU
  (old, new, estab: its baskets filled first, then the same 16 clients check them out): p99 and max latency,
  and the verdict: exactly 50 confirmed (201 and orders), 150
  ``insufficient_stock``, 0 5xx, nothing left; after the run, per shop, no stock level below zero, the stock
  ledger balanced and the money position without a difference; for estab, orders and units sold against
  the units, the answers and 5xx;
- **cart path**: ``BENCH_CART_PAIRS`` (= ``BENCH_CHECKOUTS``) pairs of ``POST /api/v1/carts`` then
  ``POST /api/v1/carts/{id}/lines`` (old, new; estab: ``GET /api/basket/`` then
  ``POST /api/basket/add-product/`` with the new session's cookie), the products spread over the catalogue:
  pairs per second and p99 of a pair (``bench.checkout.cart_path.cart_path``).

Printed: each scenario's medians over the rounds; the flash-sale verdict of every round; queries per
checkout (a checkout in process through ``django.test.Client``, every database alias, BEGIN/COMMIT
included; the second of two, the first beside it), counted by each shop's own code; the ratios, as the median of the per-round ratios with each
round's value: new/old spread checkouts/s (issue 24: ≥ 3), new hot/spread (≥ 0.5; old's too), new/old
flash-sale p99 (≤ 0.33), new/floor checkouts/s (≥ 0.25), new/old cart pairs/s, new/estab cart pairs/s
(≥ 3.5), old/estab cart pairs/s (issue 24 measured 2.6–3.0), new/estab flash-sale p99; and the saga
steps' durations where a shop keeps a saga log. Exit status 1 if the new shop's flash sale is not exact.

``BENCH_PROFILE=1`` runs ``profiling.py`` instead: where one checkout's time goes, in process (see there).

A smoke run (seconds, not minutes; never figures)::

    BENCH_CHECKOUTS=20 BENCH_ROUNDS=1 BENCH_FLASH_BUYERS=20 BENCH_FLASH_UNITS=5 BENCH_PRODUCTS=200 \\
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/checkout

``setup_shop``, ``carts_for``, ``body`` and ``percentile`` stay importable from ``bench.checkout`` for
``bench/load/run.py`` (what ``bin/bench`` and CI's benchmark smoke stage run) and ``bench/extraction.py``.
"""

from bench.checkout._shop import ADDRESS, body, carts_for, setup_shop
from bench.checkout.drive import percentile

__all__ = ["ADDRESS", "body", "carts_for", "percentile", "setup_shop"]
