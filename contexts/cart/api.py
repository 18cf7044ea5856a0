"""The published interface of the cart context: baskets, lines and applied vouchers, for anonymous and signed-in customers.

Other contexts import this module and ``events`` and nothing else of this context.
"""
