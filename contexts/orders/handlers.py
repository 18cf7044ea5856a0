"""The orders context's subscriptions to other contexts' events."""
