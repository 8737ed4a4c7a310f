"""Cursor pagination for the API's lists: page N costs what page 1 costs."""

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination, but a cursor it did not issue is a 400 naming `cursor`
    (DRF answers 404 "Invalid cursor", which reads as a missing resource)."""

    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {"cursor": ["not a cursor this API issued: use a next or previous link"]}
            ) from None
