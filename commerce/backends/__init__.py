"""The database backends every deployable uses: Django's own, measured as django-prometheus measures them
(statements, bulk statements, errors by type and durations per alias), with each labelled series looked
up once per connection instead of twice per statement (``_measured``)."""
