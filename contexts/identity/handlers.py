"""The identity context's subscriptions to other contexts' events."""
