"""Writes of the identity context, one private module per concern; the public names are re-exported here."""

from contexts.identity.services.accounts import (
    ProfileChanges,
    confirm_password_reset,
    ensure_demo_customer,
    register_customer,
    request_password_reset,
    update_profile,
)
from contexts.identity.services.addresses import AddressChanges, add_address, change_address, delete_address
from contexts.identity.services.personal_data import (
    close_account,
    export_personal_data,
    finish_erasure,
    resume_erasures,
    unfinished_erasures,
)
from contexts.identity.services.sessions import (
    TokenPair,
    end_every_session,
    issue_tokens,
    log_out,
    refresh_access,
    revoke_refresh_tokens,
)

__all__ = [
    "AddressChanges",
    "ProfileChanges",
    "TokenPair",
    "add_address",
    "change_address",
    "close_account",
    "confirm_password_reset",
    "delete_address",
    "end_every_session",
    "ensure_demo_customer",
    "export_personal_data",
    "finish_erasure",
    "issue_tokens",
    "log_out",
    "refresh_access",
    "register_customer",
    "request_password_reset",
    "resume_erasures",
    "revoke_refresh_tokens",
    "unfinished_erasures",
    "update_profile",
]
