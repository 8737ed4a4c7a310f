"""API keys for machine clients (trading bots, the AI engine).

A key is shown once, when it is created; the database keeps its SHA-256 only. Keys are
random (256 bits), so a fast hash is enough: there is nothing to brute-force. The table
keeps the name it was made with (backoffice_apikey): the model moved here from the
project package (migrations apikeys/0001, backoffice/0003).
"""

from django.conf import settings
from django.db import models


class Scope(models.TextChoices):
    TRADES_READ = "trades:read", "Read trades and metrics"
    TRADES_WRITE = "trades:write", "Record trades"
    IDEAS_WRITE = "ideas:write", "Submit trade ideas"
    PREDICT = "predict", "Ask for model predictions"
    CACHE_ADMIN = "cache:admin", "Warm and evict the prediction caches"


class ApiKey(models.Model):
    name = models.CharField(max_length=100, unique=True)
    # The first characters of the key, stored in clear to find the row without a scan.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "backoffice_apikey"
        verbose_name = "API key"
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return self.is_active and scope in self.scopes
