from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The desk records of the original platform: strategies, the risk config and its
    gate, trade ideas and their approval, the decision history, snapshots."""

    name = "desk"
    verbose_name = "Desk"

    def ready(self):
        from backoffice.core.ops import prometheus

        prometheus.register_gauge(
            "desk_approval_queue_ideas",
            "Trade ideas waiting for a person's approval (status needs_approval).",
            approval_queue_length,
        )


def approval_queue_length() -> int:
    from desk.models import IdeaStatus, TradeIdea

    return TradeIdea.objects.filter(status=IdeaStatus.NEEDS_APPROVAL).count()
