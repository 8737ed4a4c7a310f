from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The desk records of the original platform: strategies, the risk config and its
    gate, trade ideas and their approval, the decision history, snapshots."""

    name = "desk"
    verbose_name = "Desk"
