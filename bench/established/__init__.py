"""The established Django shop (django-oscar with django-oscar-api) measured beside ours: see run.py."""
