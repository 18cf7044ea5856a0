from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """``?page=N&page_size=M``: 24 by default, a ``page_size`` above 100 is clamped, not refused."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100
