"""Signals of the registry, for apps that keep state derived from it.

``aliases_changed`` is sent after the commit of a transaction that moved an alias, with
``model`` (the model's name). The serving app bumps its shared version stamp on it, so
that every worker re-reads its aliases; the registry does not need to know that.
"""

from django.dispatch import Signal

aliases_changed = Signal()
