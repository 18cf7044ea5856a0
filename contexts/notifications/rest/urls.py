from django.urls import path

from contexts.notifications.rest import views

app_name = "notifications"

urlpatterns = [
    path("me/notifications", views.MessageListView.as_view(), name="notifications"),
]
