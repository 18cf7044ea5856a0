from django.urls import path

from contexts.orders.rest import views

app_name = "orders"

urlpatterns = [
    path("checkout", views.CheckoutView.as_view(), name="checkout"),
    path("orders", views.OrderListView.as_view(), name="orders"),
    path("orders/<uuid:order_id>", views.OrderDetailView.as_view(), name="order"),
    path("orders/<uuid:order_id>/cancel", views.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<uuid:order_id>/returns", views.OrderReturnsView.as_view(), name="order-returns"),
]
