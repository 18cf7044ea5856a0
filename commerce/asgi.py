import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

from commerce import startup

startup.load_test_signals_alone()  # as in commerce.wsgi
application = get_asgi_application()
