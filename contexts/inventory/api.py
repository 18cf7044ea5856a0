"""The published interface of the inventory context: warehouses, stock levels, reservations, shipments and the stock ledger.

Other contexts import this module and ``events`` and nothing else of this context.
"""
