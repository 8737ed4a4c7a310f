"""Cursor pagination for the API's lists: page N costs what page 1 costs."""

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination, but a cursor it did not issue is a 400 naming `cursor`
    (DRF answers 404 "Invalid cursor", which reads as a missing resource)."""

    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000
    cursor_query_description = (
        "The cursor of a `next` or `previous` link: follow those links, never build one."
    )
    page_size_query_description = "Items per page, 1 to 1,000 (default 100)."
    # The list's own path, for the documented next/previous links (DRF's examples point
    # at an /accounts/ list of api.example.org that this API does not have).
    example_path = "/api/v1/trades"

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        links = {
            "next": "cD0yMDI2LTExLTI3KzA3JTNBMDA%3D",
            "previous": "cj0xJnA9MjAyNi0xMS0yOA%3D%3D",
        }
        for name, cursor in links.items():
            answer["properties"][name]["example"] = (
                f"https://backoffice.example.com{self.example_path}?limit=100&cursor={cursor}"
            )
            answer["properties"][name]["description"] = (
                f"The {name} page's URL; null on the {'last' if name == 'next' else 'first'} page."
            )
        answer["properties"]["results"]["description"] = "This page's items, newest first."
        return answer

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {"cursor": ["not a cursor this API issued: use a next or previous link"]}
            ) from None
