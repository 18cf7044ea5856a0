"""The notifications service: ``contexts.notifications`` as a deployable of its own.

``DJANGO_SETTINGS_MODULE=services.notifications.settings``; web: ``gunicorn -c python:commerce.gunicorn_conf
services.notifications.wsgi``; consumer: ``manage.py consume_events notifications``; its database:
``manage.py migrate_all``. docs/running.md ("Notifications as a service") shows the topology.
"""
