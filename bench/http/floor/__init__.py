"""The Django floor for ``bench/http``: a bare DRF list and detail over a one-table copy of the listed
products. Kept under bench/, never part of the product: it is what the shop's read path is measured against."""
