"""The registry's errors: what a request to the registry cannot do, and the API's answer
(status and code) for each (backoffice.core.errors.DomainError)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backoffice.core.errors import DomainError

if TYPE_CHECKING:
    from models_registry.models import ModelVersion


class RegistryError(DomainError):
    """A registry request cannot be carried out; ``field`` names the input at fault."""


class NotFound(RegistryError):
    """No such model, version or alias (the API answers 404)."""

    status = 404
    code = "not_found"


class BreakingMove(RegistryError):
    """The move would break clients of the alias and was not confirmed with a reason.

    ``reasons`` name each breaking change (models_registry.domain.promotions.breaks_clients);
    the error body lists each under ``confirm_breaking``.
    """

    status = 409
    code = "breaking_change"

    def __init__(self, message: str, *, reasons: list[str]):
        super().__init__(
            message,
            field="confirm_breaking",
            errors=[{"field": "confirm_breaking", "message": reason} for reason in reasons],
        )
        self.reasons = reasons


class AliasMovedMeanwhile(RegistryError):
    """The alias moved (or its challenger changed) after the mover looked at it: what
    they confirmed is stale, and nothing was changed."""

    status = 409
    code = "conflict"


class AwaitsSecondPerson(RegistryError):
    """Four eyes (settings.FOUR_EYES): a person confirmed a breaking move; it waits for
    a second person (models_registry.four_eyes.breaking_move_request keeps it), and the
    alias stays where it is. ``kind`` and ``params`` say how to make it again."""

    status = 202
    code = "awaits_second_person"

    def __init__(self, message, *, model, alias, to_version, reason, breaking, params):
        super().__init__(message, field="confirm_breaking")
        self.kind = "move"
        self.model, self.alias, self.to_version = model, alias, to_version
        self.reason, self.breaking, self.params = reason, breaking, dict(params)


class DuplicateVersion(RegistryError):
    """The model already has a version with exactly these bytes (``existing``)."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, *, existing: ModelVersion):
        super().__init__(message, field="file")
        self.existing = existing
