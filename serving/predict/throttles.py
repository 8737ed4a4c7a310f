"""The predict endpoint's DRF throttle: SERVING_PREDICT_RATE per API key, staff user or
address, counted by this process's window counts (serving.predict.window_counts)."""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle

from apikeys.models import ApiKey
from serving.predict.runtime import current


def predict_wait(client: str) -> float | None:
    """None when ``client`` may predict now (counted); else the seconds to wait."""
    return current().counters.wait(client)


class PredictRateThrottle(BaseThrottle):
    """SERVING_PREDICT_RATE requests per API key (or staff user, or address)."""

    def allow_request(self, request, view) -> bool:
        self._wait = predict_wait(self.client_id(request))
        return self._wait is None

    def client_id(self, request) -> str:
        if isinstance(request.auth, ApiKey):
            return f"key{request.auth.pk}"
        user = request.user
        if user is not None and user.is_authenticated and user.pk is not None:
            return f"user{user.pk}"
        return f"ip{self.get_ident(request)}"

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
