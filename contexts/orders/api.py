"""The published interface of the orders context: the checkout saga, orders, payments, returns and refunds.

Other contexts import this module and ``events`` and nothing else of this context.
"""
