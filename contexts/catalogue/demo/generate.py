"""Generate the demo shop's catalogue CSV, deterministically: ``python -m contexts.catalogue.demo.generate``.

The output (``catalogue.csv`` beside this file) is committed; ``manage.py seed_demo`` imports it.
Same seed, same file, so re-running the generator changes nothing unless this script changes.
Also used by ``bench/catalogue.py`` to make large files (``rows(products=10_000)``).
"""

import csv
import random
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote_plus

HEADER = [
    "product_slug",
    "product_name",
    "category",
    "description",
    "sku",
    "variant_name",
    "attributes",
    "price",
    "currency",
    "stock",
    "images",
]
OUTPUT = Path(__file__).with_name("catalogue.csv")
WAREHOUSES = ("MAIN", "BACKUP")

# category path → (nouns, variant axis, variant values, price range in EUR)
RANGES = {
    "Apparel > Shirts": (
        ["Oxford Shirt", "Linen Shirt", "Flannel Shirt", "Polo Shirt", "Denim Shirt"],
        "size",
        ["S", "M", "L", "XL"],
        (19, 69),
    ),
    "Apparel > Trousers": (
        ["Chinos", "Jeans", "Cargo Trousers", "Joggers"],
        "size",
        ["30", "32", "34", "36"],
        (29, 99),
    ),
    "Apparel > Shoes": (["Sneakers", "Loafers", "Boots", "Sandals"], "size", ["40", "41", "42", "43", "44"], (39, 149)),
    "Home > Kitchen": (
        ["Coffee Mug", "Teapot", "Chef Knife", "Cutting Board", "Frying Pan"],
        "colour",
        ["white", "black", "red"],
        (8, 89),
    ),
    "Home > Garden": (
        ["Watering Can", "Planter", "Garden Gloves", "Pruning Shears"],
        "colour",
        ["green", "terracotta"],
        (6, 59),
    ),
    "Electronics > Audio": (
        ["Headphones", "Bluetooth Speaker", "Earbuds", "Turntable"],
        "colour",
        ["black", "silver"],
        (25, 299),
    ),
    "Books": (
        ["Novel", "Cookbook", "Travel Guide", "Poetry Collection"],
        "format",
        ["paperback", "hardcover"],
        (9, 39),
    ),
}
ADJECTIVES = ["Classic", "Modern", "Rustic", "Urban", "Nordic", "Vintage", "Everyday", "Premium", "Compact", "Bold"]
COLOURS = ["blue", "navy", "olive", "sand", "charcoal", "burgundy", "cream", "teal"]
MATERIALS = ["cotton", "linen", "wool", "leather", "ceramic", "steel", "bamboo", "recycled plastic", "oak", "paper"]


def rows(
    *, products: int = 200, seed: int = 20240601, variants: int | None = None, sku_prefix: str = "DEMO"
) -> Iterator[list[str]]:
    """CSV rows (without the header) for ``products`` products, each with 1–4 variants (or exactly ``variants``,
    at most 2)."""
    rng = random.Random(seed)
    paths = list(RANGES)
    for number in range(products):
        path = paths[number % len(paths)]
        nouns, axis, values, (low, high) = RANGES[path]
        noun = nouns[(number // len(paths)) % len(nouns)]
        adjective = ADJECTIVES[rng.randrange(len(ADJECTIVES))]
        colour = COLOURS[rng.randrange(len(COLOURS))]
        material = MATERIALS[rng.randrange(len(MATERIALS))]
        name = f"{adjective} {colour.title()} {noun}"
        slug = f"{adjective}-{colour}-{noun}-{number + 1}".lower().replace(" ", "-")
        description = (
            f"A {adjective.lower()} {noun.lower()} in {colour}, made of {material}. "
            f"Number {number + 1} of our {path.split(' > ')[-1].lower()} range."
        )
        base = Decimal(rng.randrange(low * 100, high * 100)) / 100
        count = rng.randrange(1, min(len(values), 4) + 1) if variants is None else min(variants, 2)
        images = "|".join(
            f"https://placehold.co/600x600/png?text={quote_plus(name)}+{view}"
            for view in ("front", "back")[: rng.randrange(1, 3)]
        )
        for index, value in enumerate(values[:count]):
            sku = f"{sku_prefix}-{number + 1:05d}-{index + 1}"
            price = base + Decimal(index) * Decimal("2.00") if axis == "size" and index >= 3 else base
            stock = ";".join(f"{code}:{rng.choice([0, 0, 1, 3, 5, 12, 40])}" for code in WAREHOUSES)
            yield [
                slug,
                name,
                path,
                description,
                sku,
                f"{value.title() if axis != 'size' else value}",
                f"{axis}={value};material={material}",
                f"{price:.2f}",
                "EUR",
                stock,
                images,
            ]


def write(
    path: Path, *, products: int = 200, seed: int = 20240601, variants: int | None = None, sku_prefix: str = "DEMO"
) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for row in rows(products=products, seed=seed, variants=variants, sku_prefix=sku_prefix):
            writer.writerow(row)
            count += 1
    return count


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    print(f"{write(target)} rows written to {target}")
