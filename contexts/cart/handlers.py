"""The cart context's subscriptions to other contexts' events."""
