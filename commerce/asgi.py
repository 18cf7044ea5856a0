import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

from commerce.admin_site import AdminConfig

AdminConfig.discover_at_start_up = False  # as in commerce.wsgi: the staff screens load on first use
application = get_asgi_application()
