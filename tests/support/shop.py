"""Products for a test shop, each part set through its owning context: the product in the catalogue,
its price in pricing, its stock in inventory. Shared by the cart, catalogue and checkout tests."""

from decimal import Decimal

from contexts.catalogue.services import products
from contexts.inventory import api as inventory_api
from contexts.pricing import api as pricing_api
from tests.catalogue.factories import CategoryFactory, ProductFactory

WAREHOUSE = "MAIN"


def put_stock(sku: str, on_hand: int, warehouse: str = WAREHOUSE) -> None:
    inventory_api.ensure_warehouse(code=warehouse)
    inventory_api.set_stock_level(sku=sku, warehouse_code=warehouse, on_hand=on_hand, reference="test")


def make_product(slug: str, name: str, skus: dict[str, tuple[str, str | None, int]], category=None, published=True):
    """``skus`` maps a SKU to (variant name, EUR price or ``None`` for no price, stock)."""
    product = ProductFactory(
        slug=slug,
        name=name,
        category=category or CategoryFactory(),
        variants=[products.VariantSpec(sku=sku, name=variant) for sku, (variant, _, _) in skus.items()],
        published=published,
    )
    for sku, (_, amount, stock) in skus.items():
        if amount is not None:
            pricing_api.set_base_price(sku=sku, currency="EUR", amount=Decimal(amount))
        if stock:
            put_stock(sku, stock)
    return product
