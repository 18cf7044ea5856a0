"""The published interface of the catalogue context: products, variants, categories, media and the listing read model.

Other contexts import this module and ``events`` and nothing else of this context.
"""
