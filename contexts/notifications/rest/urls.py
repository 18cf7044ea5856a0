from django.urls import path

from contexts.notifications.rest import views

app_name = "notifications"

urlpatterns = [
    path("me/notifications", views.MessageListView.as_view(), name="notifications"),
    path("me/notifications/export", views.MessageExportView.as_view(), name="notifications-export"),
]
