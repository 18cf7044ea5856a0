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

__all__ = [
    "AddressChanges",
    "ProfileChanges",
    "add_address",
    "change_address",
    "confirm_password_reset",
    "delete_address",
    "register_customer",
    "request_password_reset",
    "revoke_refresh_tokens",
    "update_profile",
]
