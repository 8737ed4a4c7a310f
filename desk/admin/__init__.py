"""The desk in the admin.

risk       the risk config as one page (reasons, a confirmation when loosening), its
           audit, and strategies, all without JSON
ideas      trade ideas as an approval queue, with the gate's table and the decision
           timeline; approve and reject; the read-only decision history
snapshots  snapshots of markets, news and accounts, and the legacy settings, read-only
"""

from desk.admin import ideas, risk, snapshots  # noqa: F401 - they register admins

# forms, widgets and gate_table are the pages' parts (imported by the pages above).
