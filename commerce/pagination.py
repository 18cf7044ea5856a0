from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.utils.urls import replace_query_param


class StandardPagination(PageNumberPagination):
    """``?page=N&page_size=M``: 24 by default, a ``page_size`` above 100 is clamped, not refused.

    A value that is not a positive whole number (``page=abc``, ``page_size=0``) is a 400 like any
    other invalid query value (API.md); a page past the end is a 404.
    """

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return min(_positive_int(self.page_size_query_param, raw), self.max_page_size)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        """The bounds the paginator enforces, so a client (and a fuzzer) knows them from the schema."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 999_999_999}
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page: {self.page_size} by default, more than {self.max_page_size} is clamped."
                )
        return parameters

    def get_next_link(self) -> str | None:
        return self._with_page_size(super().get_next_link())

    def get_previous_link(self) -> str | None:
        return self._with_page_size(super().get_previous_link())

    def _with_page_size(self, link: str | None) -> str | None:
        """The links carry the page size actually served: a clamped one, not what was asked for."""
        if link is None or self.page_size_query_param not in self.request.query_params:
            return link
        return replace_query_param(link, self.page_size_query_param, self.page.paginator.per_page)

    def get_page_number(self, request, paginator) -> int | str:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        return _positive_int(self.page_query_param, raw)


def _positive_int(name: str, raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise ValidationError({name: ["A positive whole number is required."]})
    return int(raw)
