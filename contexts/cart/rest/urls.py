from django.urls import path

from contexts.cart.rest import views

app_name = "cart"

urlpatterns = [
    path("carts", views.CartCollectionView.as_view(), name="carts"),
    path("carts/<str:cart_id>", views.CartDetailView.as_view(), name="cart"),
    path("carts/<str:cart_id>/lines", views.CartLinesView.as_view(), name="lines"),
    path("carts/<str:cart_id>/lines/<str:line_id>", views.CartLineDetailView.as_view(), name="line"),
    path("carts/<str:cart_id>/vouchers", views.CartVouchersView.as_view(), name="vouchers"),
    path("carts/<str:cart_id>/vouchers/<str:code>", views.CartVoucherDetailView.as_view(), name="voucher"),
    path("carts/<str:cart_id>/assign", views.CartAssignView.as_view(), name="assign"),
    path("carts/<str:cart_id>/shipping-methods", views.CartShippingMethodsView.as_view(), name="shipping-methods"),
]
