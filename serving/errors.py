"""The serving app's domain exception, mapped by the API to its HTTP status."""

from __future__ import annotations


class ServingError(Exception):
    """A prediction cannot be made as asked; the message says why and what to change.

    ``status`` is the HTTP answer (400 bad input, 503 a model that cannot be served);
    ``field`` and ``row`` point at the offending input where there is one.
    """

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None):
        super().__init__(message)
        self.field = field
        self.row = row

    def as_body(self) -> dict:
        body: dict = {"detail": str(self), "code": self.code}
        if self.field is not None:
            body["field"] = self.field
        if self.row is not None:
            body["row"] = self.row
        return body


class InvalidInput(ServingError):
    """The request body or a query parameter is wrong (400)."""


class PayloadTooLarge(ServingError):
    """The body is larger than SERVING_MAX_BODY_MB (413)."""

    status = 413
    code = "too_large"


class ModelUnavailable(ServingError):
    """The model's artifact is missing, changed or does not load or predict (503).

    Only this model is affected: the others keep serving.
    """

    status = 503
    code = "model_unavailable"
