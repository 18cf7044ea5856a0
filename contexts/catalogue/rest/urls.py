from django.urls import path

from contexts.catalogue.rest import views

app_name = "catalogue"

urlpatterns = [
    path("categories", views.CategoryListView.as_view(), name="categories"),
    path("products", views.ProductListView.as_view(), name="products"),
    path("products/<str:slug>", views.ProductDetailView.as_view(), name="product"),
]
