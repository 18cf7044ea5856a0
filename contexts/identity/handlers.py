"""The identity context's subscriptions: none. What customers are told is notifications' business
(``contexts/notifications/handlers.py``), fed by the events identity publishes."""
