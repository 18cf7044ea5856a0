# The reset mail is sent by notifications (fed by identity's PasswordResetRequested): identity's tests
# read it where it arrived, at a real SMTP server in this process.
from tests.notifications.mailbox import mailbox, smtp_server  # noqa: F401 (fixtures)
