"""Writes of the identity context, one private module per concern; the public names are re-exported here."""

from contexts.identity.services.accounts import (
    ProfileChanges,
    confirm_password_reset,
    register_customer,
    request_password_reset,
    revoke_refresh_tokens,
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

__all__ = [
    "AddressChanges",
    "ProfileChanges",
    "add_address",
    "change_address",
    "close_account",
    "confirm_password_reset",
    "delete_address",
    "export_personal_data",
    "finish_erasure",
    "register_customer",
    "request_password_reset",
    "resume_erasures",
    "revoke_refresh_tokens",
    "unfinished_erasures",
    "update_profile",
]
