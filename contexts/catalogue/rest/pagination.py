"""The listing's pagination: the shop's page rules, with a count the view already knows (cached against the
read model's version) instead of a ``COUNT(*)`` on every request."""

from django.core.paginator import Paginator

from commerce.pagination import StandardPagination


class _KnownCountPaginator(Paginator):
    def __init__(self, object_list, per_page, *, count: int | None = None) -> None:
        super().__init__(object_list, per_page)
        if count is not None:
            self.__dict__["count"] = count  # ``Paginator.count`` is a cached property


class ListingPagination(StandardPagination):
    known_count: int | None = None

    def django_paginator_class(self, object_list, per_page) -> Paginator:
        return _KnownCountPaginator(object_list, per_page, count=self.known_count)
