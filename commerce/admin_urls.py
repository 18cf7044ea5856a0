"""The admin's URLs, which ``commerce.urls`` resolves when a request first goes under /admin/.

In a web worker that is when each context's ``admin.py`` is loaded (``commerce.admin_site.AdminConfig``);
elsewhere they were loaded at start-up and discovering again changes nothing.
"""

from django.contrib import admin

admin.autodiscover()

app_name = "admin"
urlpatterns = admin.site.get_urls()
