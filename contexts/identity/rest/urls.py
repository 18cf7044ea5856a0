from django.urls import path

from contexts.identity.rest import views

app_name = "identity"

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="register"),
    path("auth/token", views.TokenView.as_view(), name="token"),
    path("auth/token/refresh", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="logout"),
    path(".well-known/jwks.json", views.JwksView.as_view(), name="jwks"),
    path("auth/password-reset", views.PasswordResetView.as_view(), name="password-reset"),
    path("auth/password-reset/confirm", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
    path("me", views.MeView.as_view(), name="me"),
    path("me/export", views.ExportView.as_view(), name="export"),
    path("me/addresses", views.AddressListView.as_view(), name="addresses"),
    path("me/addresses/<int:address_id>", views.AddressDetailView.as_view(), name="address"),
]
