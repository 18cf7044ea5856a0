from django.db import models

TABLE = "bench_floor_product"


class FloorProduct(models.Model):
    """A copy of the listing's columns plus the detail's document, filled by ``bench/http``."""

    slug = models.SlugField(max_length=200, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    category_slug = models.SlugField(max_length=120, db_index=True)
    price_amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    in_stock = models.BooleanField()
    image_url = models.CharField(max_length=500)
    description = models.TextField()
    document = models.JSONField()

    class Meta:
        managed = False
        db_table = TABLE

    def __str__(self) -> str:
        return self.slug


class FloorOrder(models.Model):
    """The checkout floor's order (``bench/checkout``): what a bare shop stores of a checkout's body."""

    cart_id = models.UUIDField()
    email = models.CharField(max_length=254)
    shipping_address = models.JSONField()
    shipping_method = models.CharField(max_length=64)
    payment_token = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bench_floor_order"

    def __str__(self) -> str:
        return str(self.pk)


class FloorOrderLine(models.Model):
    order = models.ForeignKey(FloorOrder, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        db_table = "bench_floor_orderline"

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"
