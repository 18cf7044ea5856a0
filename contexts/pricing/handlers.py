"""The pricing context's subscriptions to other contexts' events."""
