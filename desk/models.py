"""Desk records (seed 002): strategies, the single risk config, trade ideas, the
append-only decision history, and snapshots of markets, news and accounts."""

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from timescale.db.models.fields import TimescaleDateTimeField

from backoffice.core.currencies import currency_problem
from desk.domain.limits import LIMITS, limit_label
from desk.schemas import schema_errors
from journal.models import Side as Direction  # one long/short choice set everywhere

PRICE = {"max_digits": 20, "decimal_places": 8}


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class IdeaStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    NEEDS_APPROVAL = "needs_approval", "Needs approval"
    AUTO_EXECUTED = "auto_executed", "Auto-executed by the risk gate"
    APPROVED = "approved", "Approved by a person"
    REJECTED = "rejected", "Rejected"
    HALTED_BY_RISK = "halted_by_risk", "Halted by risk"


class Action(models.TextChoices):
    AI_PROPOSED = "ai_proposed", "AI proposed"
    AI_AUTO_EXECUTED = "ai_auto_executed", "AI auto-executed"
    HUMAN_APPROVED = "human_approved", "Human approved"
    HUMAN_REJECTED = "human_rejected", "Human rejected"
    RISK_REJECTED = "risk_rejected", "Risk rejected"
    AI_HALTED = "ai_halted", "AI halted"
    AI_RESUMED = "ai_resumed", "AI resumed"


class Strategy(models.Model):
    """A trading strategy: where and when it may trade, and its own caps. Each JSON
    field is validated against its schema (desk/schemas.py); the admin edits them with
    widgets (desk/admin/forms.py), never as JSON."""

    name = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField("active", default=True)
    allowed_symbols = models.JSONField("symbols", default=list, blank=True)
    session_windows = models.JSONField("trading sessions", default=list, blank=True)
    entry_conditions = models.JSONField(default=list, blank=True)
    exit_rules = models.JSONField(default=dict, blank=True)
    forbidden_conditions = models.JSONField(default=list, blank=True)
    risk_caps = models.JSONField(default=dict, blank=True)
    rr_expectation = models.DecimalField(
        "reward:risk expectation",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="the reward:risk ratio a trade of this strategy should offer",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "strategies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rr_expectation__isnull=True) | Q(rr_expectation__gt=0),
                name="desk_strategy_rr_positive",
                violation_error_message="The reward:risk expectation is more than 0.",
            )
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.rr_expectation is not None and self.rr_expectation <= 0:
            errors["rr_expectation"] = (
                "Give a reward:risk of more than 0 (2 means 2:1), or leave it empty."
            )
        for field in (
            "allowed_symbols",
            "session_windows",
            "entry_conditions",
            "exit_rules",
            "forbidden_conditions",
            "risk_caps",
        ):
            messages = schema_errors(field, getattr(self, field))
            if messages:
                errors[field] = messages
        if "session_windows" not in errors:
            unknown = [
                w["timezone"]
                for w in self.session_windows or []
                if w.get("timezone") and not _is_timezone(w["timezone"])
            ]
            if unknown:
                errors["session_windows"] = [f"{unknown[0]!r} is not a time zone"]
        if errors:
            raise ValidationError(errors)


MONEY = {"max_digits": 20, "decimal_places": 2}


def _limit(name: str) -> dict:
    """verbose_name and help_text of a risk config field, from desk.domain.limits.LIMITS."""
    return {"verbose_name": LIMITS[name].label, "help_text": LIMITS[name].help}


class RiskConfig(models.Model):
    """The AI control panel: exactly one row, enforced by the database.

    Limits in money are in the account's ``currency``; a limit left empty is off. The
    words of each field (label, help, unit) are desk.domain.limits.LIMITS'.
    """

    id = models.BooleanField(primary_key=True, default=True, editable=False)
    ai_trading_enabled = models.BooleanField(default=False, **_limit("ai_trading_enabled"))
    currency = models.CharField(max_length=5, default="USD", **_limit("currency"))
    min_confidence_threshold = models.DecimalField(
        max_digits=5, decimal_places=4, default=0.7, **_limit("min_confidence_threshold")
    )
    max_lot_size = models.DecimalField(**PRICE, default=1, **_limit("max_lot_size"))
    default_lot_size = models.DecimalField(
        **PRICE, null=True, blank=True, **_limit("default_lot_size")
    )
    require_stop_loss = models.BooleanField(default=True, **_limit("require_stop_loss"))
    max_risk_per_trade = models.DecimalField(
        **MONEY, null=True, blank=True, default=Decimal(250), **_limit("max_risk_per_trade")
    )
    max_risk_pct_of_equity = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        default=Decimal(1),
        **_limit("max_risk_pct_of_equity"),
    )
    risk_account = models.CharField(max_length=64, blank=True, default="", **_limit("risk_account"))
    max_concurrent_trades = models.PositiveIntegerField(
        default=3, **_limit("max_concurrent_trades")
    )
    daily_profit_target = models.DecimalField(**PRICE, default=500, **_limit("daily_profit_target"))
    stop_after_target = models.BooleanField(default=True, **_limit("stop_after_target"))
    max_daily_loss = models.DecimalField(
        **MONEY, null=True, blank=True, default=Decimal(500), **_limit("max_daily_loss")
    )
    max_drawdown_amount = models.DecimalField(
        **PRICE, default=1000, **_limit("max_drawdown_amount")
    )
    halt_on_drawdown = models.BooleanField(default=True, **_limit("halt_on_drawdown"))
    max_input_age_minutes = models.PositiveIntegerField(
        null=True, blank=True, default=60, **_limit("max_input_age_minutes")
    )
    allow_off_watchlist_autotrade = models.BooleanField(
        default=False, **_limit("allow_off_watchlist_autotrade")
    )
    watchlist = models.JSONField(default=list, blank=True, **_limit("watchlist"))
    last_halt_reason = models.CharField(max_length=500, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "risk limits"  # one row, one page: "Risk limits" in the menu
        verbose_name_plural = "risk limits"
        constraints = [
            models.CheckConstraint(condition=Q(id=True), name="desk_riskconfig_single_row"),
            models.CheckConstraint(
                condition=Q(min_confidence_threshold__gte=0, min_confidence_threshold__lte=1),
                name="desk_riskconfig_confidence_range",
                violation_error_message="The minimum confidence is between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=Q(
                    max_lot_size__gt=0, max_drawdown_amount__gt=0, daily_profit_target__gt=0
                ),
                name="desk_riskconfig_amounts_positive",
                violation_error_message="The maximum lot size, the daily profit target and "
                "the maximum drawdown are more than 0.",
            ),
            models.CheckConstraint(
                condition=(Q(default_lot_size__isnull=True) | Q(default_lot_size__gt=0))
                & (Q(max_risk_per_trade__isnull=True) | Q(max_risk_per_trade__gt=0))
                & (Q(max_daily_loss__isnull=True) | Q(max_daily_loss__gt=0))
                & (
                    Q(max_risk_pct_of_equity__isnull=True)
                    | Q(max_risk_pct_of_equity__gt=0, max_risk_pct_of_equity__lte=100)
                ),
                name="desk_riskconfig_optional_limits_positive",
                violation_error_message="Limits that are set are more than 0 (a percentage "
                "at most 100); leave a limit empty to switch it off.",
            ),
        ]

    def __str__(self):
        return "Risk config"

    def clean(self):
        """The database's rules, each said of its field (before the constraints are
        checked, which then skip the fields found wrong here)."""
        errors = {}
        confidence = self.min_confidence_threshold
        if confidence is not None and not 0 <= confidence <= 1:
            errors["min_confidence_threshold"] = "Give a confidence from 0 to 1 (0.70 = 70 %)."
        for name in ("max_lot_size", "daily_profit_target", "max_drawdown_amount"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                errors[name] = f"The {LIMITS[name].label.lower()} must be more than 0."
        for name in ("default_lot_size", "max_risk_per_trade", "max_daily_loss"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                errors[name] = (
                    f"The {LIMITS[name].label.lower()} must be more than 0; leave it "
                    "empty to switch it off."
                )
        share = self.max_risk_pct_of_equity
        if share is not None and not 0 < share <= 100:
            errors["max_risk_pct_of_equity"] = (
                "Give a percentage more than 0 and at most 100; leave it empty to switch it off."
            )
        problem = currency_problem(self.currency or "")
        if problem:
            errors["currency"] = problem
        messages = schema_errors("allowed_symbols", self.watchlist)
        if messages:
            errors["watchlist"] = [m.replace("allowed_symbols", "watchlist") for m in messages]
        if errors:
            raise ValidationError(errors)


class RiskConfigChange(models.Model):
    """The audit of the risk config: who changed which limit, when, old → new."""

    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.CharField(max_length=150)
    field = models.CharField(max_length=40)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    # db_default: rows written by code that predates the reason (migrations) get "".
    reason = models.CharField(
        max_length=500, blank=True, default="", db_default="", help_text="why the limit changed"
    )

    class Meta:
        verbose_name = "risk limit change"
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"{limit_label(self.field)}: {self.old_value} → {self.new_value}"


class ChangeRequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a second person"
    CONFIRMED = "confirmed", "Confirmed"
    DECLINED = "declined", "Declined"
    STALE = "stale", "Overtaken: the limits changed since"


class LimitChangeRequest(models.Model):
    """Four eyes: limits that a person loosened (AI trading switched on among them),
    waiting for a second person with the same permission. Until then the old values
    stay in force. ``before`` is what the requester saw: a confirmation finds the same
    values in force, or the request is stale (desk.four_eyes)."""

    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, help_text="why the limits should change")
    # {field: value as stored in JSON (decimals as text)}
    changes = models.JSONField()
    before = models.JSONField()
    status = models.CharField(
        max_length=10, choices=ChangeRequestStatus.choices, default=ChangeRequestStatus.PENDING
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision_note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        verbose_name = "limit change waiting for a second person"
        verbose_name_plural = "limit changes waiting for a second person"
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ChangeRequestStatus.values),
                name="desk_limitrequest_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status=ChangeRequestStatus.PENDING) | Q(decided_at__isnull=False),
                name="desk_limitrequest_decided_when",
            ),
        ]
        indexes = [
            # The queue of requests waiting for a second person.
            models.Index(fields=["status", "-requested_at"], name="desk_limitrequest_queue_idx")
        ]

    def __str__(self):
        fields = ", ".join(limit_label(name) for name in self.changes)
        return f"#{self.pk} {fields} ({self.get_status_display().lower()})"


class TradeIdea(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    symbol = models.CharField(max_length=32)
    direction = models.CharField(max_length=5, choices=Direction.choices)
    entry_price = models.DecimalField(**PRICE)
    entry_range_low = models.DecimalField(**PRICE, null=True, blank=True)
    entry_range_high = models.DecimalField(**PRICE, null=True, blank=True)
    stop_loss = models.DecimalField(**PRICE, null=True, blank=True)
    take_profit = models.DecimalField(**PRICE, null=True, blank=True)
    lot_size = models.DecimalField(**PRICE, null=True, blank=True)
    expected_hold = models.PositiveIntegerField(null=True, blank=True, help_text="minutes")
    rationale = models.TextField(blank=True, default="")
    confidence_score = models.DecimalField(max_digits=5, decimal_places=4)
    status = models.CharField(max_length=15, choices=IdeaStatus.choices, default=IdeaStatus.WAITING)
    strategy = models.ForeignKey(
        Strategy, null=True, blank=True, on_delete=models.PROTECT, related_name="ideas"
    )
    snapshot_ref = models.CharField(max_length=200, blank=True, default="")
    model_version = models.CharField(max_length=132, blank=True, default="")
    prediction_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="the prediction that proposed the idea (its id in the prediction API's answer)",
    )
    risk_check_result = models.JSONField(default=dict, blank=True)
    submitted_by = models.CharField(max_length=150, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=IdeaStatus.values), name="desk_idea_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="desk_idea_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(confidence_score__gte=0, confidence_score__lte=1),
                name="desk_idea_confidence_range",
            ),
        ]
        indexes = [
            # The admin's and the API's queue of ideas waiting for a person.
            models.Index(fields=["status", "-created_at"], name="desk_idea_status_idx"),
            models.Index(fields=["symbol", "-created_at"], name="desk_idea_symbol_idx"),
            models.Index(
                fields=["prediction_id"],
                name="desk_idea_prediction_idx",
                condition=~Q(prediction_id=""),
            ),
            # The gate's executions in flight: executed ideas by when they were decided
            # (desk.services.executions_in_flight).
            models.Index(
                fields=["decided_at"],
                name="desk_idea_executed_idx",
                condition=Q(status__in=["auto_executed", "approved"]),
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_direction_display()} {self.symbol}: {self.status_detail}"

    @property
    def status_detail(self) -> str:
        """The status as a person reads it: who decided, and when (UTC)."""
        when = f" at {self.decided_at:%Y-%m-%d %H:%M} UTC" if self.decided_at else ""
        if self.status == IdeaStatus.APPROVED:
            return f"Approved by {self.decided_by or 'a person'}{when}"
        if self.status == IdeaStatus.REJECTED and self.decided_by_id:
            return f"Rejected by {self.decided_by}{when}"
        if self.status == IdeaStatus.REJECTED:
            return f"Rejected by the risk gate{when}"
        if self.status in (IdeaStatus.AUTO_EXECUTED, IdeaStatus.HALTED_BY_RISK):
            return f"{self.get_status_display()}{when}"
        return self.get_status_display()

    def clean(self):
        """What makes an idea unreadable. Levels a trader would not take (a stop on the
        wrong side, an entry outside its range) are the risk gate's to reject, so the
        idea and its rejection stay in the history."""
        low, high = self.entry_range_low, self.entry_range_high
        if (low is None) != (high is None):
            raise ValidationError({"entry_range": "give both ends of the entry range, or neither"})
        if low is not None and low > high:
            raise ValidationError(
                {"entry_range": f"the range's low end {low} is above its high end {high}"}
            )


class Decision(models.Model):
    """The append-only decision history. A hypertable on occurred_at (weekly chunks:
    tens to thousands of decisions a day); on PostgreSQL a trigger refuses every
    UPDATE and DELETE, so no code path, admin or SQL console rewrites history."""

    occurred_at = TimescaleDateTimeField(interval="7 days")
    symbol = models.CharField(max_length=32, blank=True, default="")
    action = models.CharField(max_length=20, choices=Action.choices)
    rationale = models.TextField(blank=True, default="")
    confidence_score = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    risk_check_result = models.JSONField(default=dict, blank=True)
    strategy = models.ForeignKey(
        Strategy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trade_idea = models.ForeignKey(
        TradeIdea, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    snapshot_ref = models.CharField(max_length=200, blank=True, default="")
    human_override = models.BooleanField(default=False)
    # A person's approval against what the gate or the desk's rules asked (a stale idea,
    # no stop, a rule the gate now fails): what was overridden and the written reason.
    # Nullable: added to a hypertable that may hold compressed chunks.
    override_reason = models.TextField(null=True, blank=True)  # noqa: DJ001 - see above
    actor = models.CharField(max_length=150, help_text="a username, an API key or 'risk-gate'")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=Action.values), name="desk_decision_action_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["-occurred_at"], name="desk_decision_time_idx"),
            models.Index(fields=["symbol", "-occurred_at"], name="desk_decision_symbol_idx"),
            models.Index(fields=["action", "-occurred_at"], name="desk_decision_action_idx"),
            models.Index(fields=["trade_idea", "occurred_at"], name="desk_decision_idea_idx"),
        ]

    def __str__(self):
        what = f"{self.get_action_display()} {self.symbol}".strip()
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {what}"


# -- snapshots (hypertables on captured_at, with retention) -----------------------


class MarketBar(models.Model):
    captured_at = TimescaleDateTimeField(interval="1 day")
    symbol = models.CharField(max_length=32)
    timeframe = models.CharField(max_length=8)
    open = models.DecimalField(**PRICE)
    high = models.DecimalField(**PRICE)
    low = models.DecimalField(**PRICE)
    close = models.DecimalField(**PRICE)
    volume = models.DecimalField(max_digits=24, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "timeframe", "captured_at"], name="desk_marketbar_key"
            ),
            models.CheckConstraint(
                condition=Q(high__gte=models.F("low")), name="desk_marketbar_high_over_low"
            ),
        ]
        # The risk gate reads each symbol's latest bar on every idea.
        indexes = [
            models.Index(fields=["symbol", "-captured_at"], name="desk_marketbar_latest_idx")
        ]

    def __str__(self):
        return f"{self.symbol} {self.timeframe} {self.captured_at:%Y-%m-%d %H:%M}"


class IndicatorSnapshot(models.Model):
    captured_at = TimescaleDateTimeField(interval="1 day")
    symbol = models.CharField(max_length=32)
    timeframe = models.CharField(max_length=8)
    rsi_14 = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    sma_50 = models.DecimalField(**PRICE, null=True, blank=True)
    sma_200 = models.DecimalField(**PRICE, null=True, blank=True)
    macd = models.DecimalField(**PRICE, null=True, blank=True)
    atr = models.DecimalField(**PRICE, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "timeframe", "captured_at"], name="desk_indicator_key"
            )
        ]

    def __str__(self):
        return f"{self.symbol} {self.timeframe} {self.captured_at:%Y-%m-%d %H:%M}"


class CalendarEvent(models.Model):
    captured_at = TimescaleDateTimeField(interval="7 days")
    event_time = models.DateTimeField()
    currency = models.CharField(max_length=8)
    impact_level = models.CharField(max_length=10)
    title = models.CharField(max_length=200)
    previous_value = models.CharField(max_length=40, blank=True, default="")
    forecast_value = models.CharField(max_length=40, blank=True, default="")
    actual_value = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "event_time", "title", "captured_at"],
                name="desk_calendar_key",
            )
        ]
        indexes = [models.Index(fields=["currency", "event_time"], name="desk_calendar_idx")]

    def __str__(self):
        return f"{self.event_time:%Y-%m-%d %H:%M} {self.currency} {self.title}"


class NewsItem(models.Model):
    captured_at = TimescaleDateTimeField(interval="7 days")
    published_at = models.DateTimeField()
    headline = models.CharField(max_length=500)
    source = models.CharField(max_length=100, blank=True, default="")
    symbols = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["headline", "published_at", "captured_at"], name="desk_news_key"
            )
        ]
        indexes = [models.Index(fields=["-published_at"], name="desk_news_published_idx")]

    def __str__(self):
        return self.headline[:80]


class AccountSnapshot(models.Model):
    captured_at = TimescaleDateTimeField(interval="7 days")
    account = models.CharField(max_length=64)
    balance = models.DecimalField(**PRICE)
    equity = models.DecimalField(**PRICE)
    margin_used = models.DecimalField(**PRICE, default=0)
    margin_free = models.DecimalField(**PRICE, default=0)
    open_pl = models.DecimalField(**PRICE, default=0)
    open_positions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "captured_at"], name="desk_account_key")
        ]
        # The risk gate reads the latest equity (of any account) on every idea.
        indexes = [models.Index(fields=["-captured_at"], name="desk_account_latest_idx")]

    def __str__(self):
        return f"{self.account} {self.captured_at:%Y-%m-%d %H:%M}"


class LegacySetting(models.Model):
    """Settings files of the old file storage that have no model of their own
    (accounts, api_integrations, appearance, rss_feeds), kept as key → JSON value.
    Secrets are never imported into it (import_legacy_csv drops them, and says so)."""

    category = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    value = models.JSONField(default=dict)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "key"], name="desk_legacy_setting_key")
        ]

    def __str__(self):
        return f"{self.category}: {self.key}"


SNAPSHOT_MODELS = {
    "market": MarketBar,
    "indicators": IndicatorSnapshot,
    "calendar": CalendarEvent,
    "news": NewsItem,
    "account": AccountSnapshot,
}
