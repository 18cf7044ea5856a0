"""The listing's pagination: the shop's page rules, with a count the view already knows (cached against the
read model's version) instead of a ``COUNT(*)`` on every request."""

from django.core.paginator import InvalidPage, Paginator
from rest_framework.exceptions import NotFound

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

    def ensure_page_exists(self, request) -> None:
        """A 404 for a page past the end, as ``paginate_queryset`` answers, from the known count alone: the
        view decides it before a conditional request may be answered 304 (RFC 9110 13.2.1: preconditions
        are ignored when the answer without them would not be a 2xx)."""
        paginator = self.django_paginator_class([], self.get_page_size(request))
        page_number = self.get_page_number(request, paginator)
        try:
            paginator.validate_number(page_number)
        except InvalidPage as exc:
            raise NotFound(self.invalid_page_message.format(page_number=page_number, message=str(exc))) from exc
