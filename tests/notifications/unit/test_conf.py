"""Who sends: the monolith unless notifications is lifted; the service says so itself."""

from django.test import override_settings

from contexts.notifications.conf import notifications_settings


def test_the_embedded_shop_sends():
    with override_settings(LIFTED=frozenset()):
        assert notifications_settings().sends


def test_the_monolith_only_records_once_notifications_are_lifted():
    with override_settings(LIFTED=frozenset({"notifications"})):
        assert not notifications_settings().sends


def test_a_process_that_says_it_sends_sends_whatever_is_lifted():
    with override_settings(LIFTED=frozenset({"notifications"}), NOTIFICATIONS_SENDS=True):
        assert notifications_settings().sends
    with override_settings(LIFTED=frozenset(), NOTIFICATIONS_SENDS=False):
        assert not notifications_settings().sends


def test_the_retry_settings_keep_their_old_identity_names():
    with override_settings(IDENTITY_NOTIFICATION_MAX_ATTEMPTS=3):
        assert notifications_settings().max_attempts == 3
    with override_settings(IDENTITY_NOTIFICATION_MAX_ATTEMPTS=3, NOTIFICATIONS_MAX_ATTEMPTS=5):
        assert notifications_settings().max_attempts == 5
