"""Extension points: what an app shows of an app above it, without importing it.

The trade page (journal), the idea page and the gate (desk) and the version page
(models_registry) show the prediction behind them and its live figures. Those live in
serving, which imports the journal, the desk and the registry; the import contracts
(.importlinter) keep the arrows that way. So serving's ``ready()`` provides each point
below, and the apps below call the point: without serving installed, a point answers
None and the pages say the prediction is not served here.

    find_prediction(prediction_id)      -> the recorded prediction (``.record``, ``.row``,
                                           ``.output``), None when not recorded
    prediction_made_at(prediction_id)   -> when the prediction was made (its id says),
                                           None when it is no prediction id of ours
    prediction_link(record, row)        -> HTML: the record's admin page, linked
    version_link(record)                -> HTML: the version that made it, linked
    version_live_html(version)          -> HTML: the version's live trades, calibration,
                                           traffic and drift
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


class Point:
    """One extension point: an app above provides a callable, the apps below call it."""

    def __init__(self, name: str):
        self.name = name
        self._provided: Callable[..., Any] | None = None

    def provide(self, function: Callable[..., Any]) -> None:
        self._provided = function

    @property
    def provided(self) -> bool:
        return self._provided is not None

    def __call__(self, *args, **kwargs) -> Any:
        """The provider's answer; None when no installed app provides the point."""
        if self._provided is None:
            return None
        return self._provided(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<extension point {self.name}: {'provided' if self.provided else 'not provided'}>"


find_prediction = Point("find_prediction")
prediction_made_at = Point("prediction_made_at")
prediction_link = Point("prediction_link")
version_link = Point("version_link")
version_live_html = Point("version_live_html")
