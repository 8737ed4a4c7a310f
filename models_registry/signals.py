"""Signals of the registry, for apps that keep state derived from it.

Each is sent after the commit of the transaction that made the change, with ``model``
(the model's name):

``aliases_changed``   an alias moved;
``versions_changed``  a version's serving record changed (a compiled predictor was
                      recorded or removed).

The serving app bumps its shared version stamp on either, so that every worker re-reads
what it serves; the registry does not need to know that.
"""

from django.dispatch import Signal

aliases_changed = Signal()
versions_changed = Signal()
