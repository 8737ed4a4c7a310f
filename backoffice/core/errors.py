"""The one base of every app's domain errors (no HTTP, no DRF here).

A service raises a subclass of DomainError with a message a person can act on; the
error carries what the API needs to answer it (backoffice.core.api.errors): the HTTP
``status``, a stable ``code``, and the input at fault, as one ``field`` (with its
``row``) or as a list of every problem found at once.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid"
    # Seconds after which a retry may succeed (503 and 429 answers carry it).
    retry_after: int | None = None

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        row: int | None = None,
        errors: list[dict[str, Any]] | None = None,
    ):
        super().__init__(message)
        self.field = field
        self.row = row
        self._errors = list(errors or [])

    @property
    def errors(self) -> list[dict[str, Any]]:
        """[{"field", "message", "row"/"index"}] for every problem at once."""
        if self._errors:
            return self._errors
        if self.field is None:
            return []
        item: dict[str, Any] = {"field": self.field, "message": str(self)}
        if self.row is not None:
            item["row"] = self.row
        return [item]


class PayloadTooLarge(DomainError):
    """The request body passes the endpoint's size limit (backoffice.core.api.parsers,
    SERVING_MAX_BODY_MB on the protocols' routes), or holds more values than a request
    may carry (serving.predict.bounds)."""

    status = 413
    code = "too_large"


class Unavailable(DomainError):
    """A dependency does not answer: try again shortly."""

    status = 503
    code = "unavailable"
    retry_after = 5
