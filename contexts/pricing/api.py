"""The published interface of the pricing context: prices, promotions, vouchers and quotes: the authoritative price of a basket.

Other contexts import this module and ``events`` and nothing else of this context.
"""
