"""The admin's URLs, imported by the URL resolver on the first request under /admin/ or ``reverse('admin:…')``
(``commerce.urls``): building them reads the admin's registry, which discovers every app's ``admin`` module
(``commerce.admin_site``)."""

from django.contrib import admin

urlpatterns = admin.site.get_urls()
