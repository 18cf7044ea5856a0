"""The catalogue context's subscriptions to other contexts' events."""
