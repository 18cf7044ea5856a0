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
