"""The serving app's domain errors (backoffice.core.errors.DomainError: status, code, fields).

The API answers them in its one error body; the V2 and MLflow-shaped routes in their
protocols' own bodies (serving.protocols.v2, serving.protocols.invocations).
"""

from __future__ import annotations

from backoffice.core.errors import DomainError


class ServingError(DomainError):
    """A prediction cannot be made as asked; the message says why and what to change."""


class InvalidInput(ServingError):
    """The request body or a query parameter is wrong (400); ``errors`` names every
    bad row and feature found."""


class ModelUnavailable(ServingError):
    """The model's artifact is missing, changed or does not load or predict (503).

    Only this model is affected: the others keep serving.
    """

    status = 503
    code = "model_unavailable"
    retry_after = 5
