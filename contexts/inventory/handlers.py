"""The inventory context's subscriptions to other contexts' events."""
