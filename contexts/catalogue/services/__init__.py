"""Writes of the catalogue context: atomic on its own database, publish events last.

``categories`` (the tree), ``products`` (products, variants, images, publishing), ``listing`` (the
read model) and ``importing`` (the CSV importer) are private modules; callers import them by name.
"""
