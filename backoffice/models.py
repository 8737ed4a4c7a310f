"""The project's own permission: who may read the operators' metrics (GET /metrics).

No table is made for it (``managed = False``): the model only carries the permission,
``backoffice.view_metrics``, which migration 0002 gives the Operator group.
"""

from django.db import models


class OperatorMetrics(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_metrics", "Can read the operators' metrics (GET /metrics)")]

    def __str__(self):
        return "operators' metrics"
