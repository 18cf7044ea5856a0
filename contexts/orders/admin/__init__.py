"""Staff screens of the orders context (the ``customer_service`` and ``warehouse`` roles).

Orders are records of what happened: nothing on them is edited in place. Staff act through the
transitions (ship, mark delivered, cancel, receive a return and refund it), offered both as the lists'
actions and as buttons on an order's page; both run the same services (``_transitions``), for the
roles whose permissions allow them. A row an action cannot apply to is reported in the messages, and
the others still go through.

``_orders``: the order list and page; ``_returns``: returns and the test gateway's charges.
"""

from contexts.orders.admin import _orders, _returns  # noqa: F401 (registers the model admins)
