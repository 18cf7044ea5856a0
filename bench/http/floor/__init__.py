"""The Django floor: a bare DRF list and detail over a one-table copy of the listed products (``bench/http``)
and a bare view inserting one order and its lines in one transaction (``bench/checkout``). Kept under bench/,
never part of the product: it is what the shop's read path and checkout are measured against."""
