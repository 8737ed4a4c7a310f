"""The trade journal: executed trades (a hypertable) and their reviews (a plain table).

Execution data and review data live apart. Trades are records: what the broker did is
written once (a trade recorded while open may be completed once with its closing
fields) and never edited; reviews change all day and every change is kept.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from timescale.db.models.fields import TimescaleDateTimeField

from backoffice.core.currencies import currency_problem
from backoffice.core.formatting import plain

DECIMAL = {"max_digits": 20, "decimal_places": 8}


class Side(models.TextChoices):
    LONG = "long", "Long"
    SHORT = "short", "Short"


class TradeStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class ReviewStatus(models.TextChoices):
    UNREVIEWED = "unreviewed", "Unreviewed"
    REVIEWED = "reviewed", "Reviewed"
    FLAGGED = "flagged", "Flagged"


class Trade(models.Model):
    """One executed trade.

    A hypertable on ``executed_at`` with one-day chunks: at a million trades a day a
    chunk holds about 0.5 GB of rows and indexes, inside the quarter of memory that
    TimescaleDB advises for the chunks being written; at a few thousand a day the
    chunks are small but chunk exclusion still keeps "today" and "this week" queries
    on a handful of them. The primary key that django-timescaledb drops is replaced by
    a plain index on ``id`` (backoffice.core.db.backends.postgresql).
    """

    trade_id = models.CharField(max_length=64)
    executed_at = TimescaleDateTimeField(interval="7 days")
    closed_at = models.DateTimeField(null=True, blank=True)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=5, choices=Side.choices)
    quantity = models.DecimalField(**DECIMAL)
    entry_price = models.DecimalField(**DECIMAL)
    exit_price = models.DecimalField(**DECIMAL, null=True, blank=True)
    fees = models.DecimalField(**DECIMAL, default=0)
    pnl = models.DecimalField(**DECIMAL, null=True, blank=True)
    status = models.CharField(max_length=6, choices=TradeStatus.choices)
    strategy = models.CharField(max_length=64, blank=True, default="")
    account = models.CharField(max_length=64, blank=True, default="")
    broker_order_id = models.CharField(max_length=64, blank=True, default="")
    agent_votes = models.JSONField(default=dict, blank=True)
    signals = models.JSONField(default=dict, blank=True)
    model_version = models.CharField(max_length=132, blank=True, default="")
    confidence = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    # The initial stop, for R-multiples (journal.analytics).
    stop_loss = models.DecimalField(**DECIMAL, null=True, blank=True)
    # The desk's trade idea that caused the trade (desk.TradeIdea; no foreign key: the
    # desk app depends on the journal, not the other way round).
    idea_id = models.BigIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # TimescaleDB needs the partition column in every unique index.
            models.UniqueConstraint(fields=["trade_id", "executed_at"], name="journal_trade_key"),
            models.CheckConstraint(
                condition=Q(side__in=Side.values), name="journal_trade_side_valid"
            ),
            models.CheckConstraint(
                condition=(Q(status=TradeStatus.OPEN, closed_at__isnull=True))
                | (
                    Q(status=TradeStatus.CLOSED, closed_at__isnull=False)
                    & Q(exit_price__isnull=False, pnl__isnull=False)
                ),
                name="journal_trade_status_matches_closing",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0, entry_price__gt=0, fees__gte=0),
                name="journal_trade_amounts_positive",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=0, confidence__lte=1),
                name="journal_trade_confidence_range",
            ),
        ]
        indexes = [
            # Admin list and GET /trades: newest first, cursor on executed_at.
            models.Index(fields=["-executed_at"], name="journal_trade_time_idx"),
            # The list filters, each with the time order of the list.
            models.Index(fields=["symbol", "-executed_at"], name="journal_trade_symbol_idx"),
            models.Index(fields=["strategy", "-executed_at"], name="journal_trade_strat_idx"),
            models.Index(fields=["account", "-executed_at"], name="journal_trade_account_idx"),
            # Metrics count closed trades on the day of closed_at; the list sorts by it.
            models.Index(fields=["closed_at"], name="journal_trade_closed_idx"),
            # The list sorts by P&L; by R and by holding time through expression indexes
            # on PostgreSQL (journal.analytics.trade_figures, migration 0018).
            models.Index(fields=["pnl"], name="journal_trade_pnl_idx"),
            # The risk gate counts open trades on every idea: a small index of them alone.
            models.Index(
                fields=["executed_at"],
                name="journal_trade_open_idx",
                condition=Q(status="open"),
            ),
            # The admin's prefix search on trade_id and broker_order_id has expression
            # indexes, PostgreSQL only (migration 0013_prefix_search_and_review_tags).
            # The trades of an idea (the idea's page, the decision chain).
            models.Index(
                fields=["idea_id"],
                name="journal_trade_idea_idx",
                condition=Q(idea_id__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.trade_id}: {self.get_side_display()} {plain(self.quantity)} {self.symbol}"


class TradeCheck(models.Model):
    """What capture found odd about a trade against its instrument (journal.write.checks):
    a price off the tick, a quantity off the step, a P&L the prices do not make.

    Derived data, one row per flagged trade (a clean trade has none), keyed like the
    trade: the statement that stores a trade records its flags (no foreign key: a
    hypertable's ``id`` is not unique, and the key is known before the id). The trade
    itself is never changed; a flag once raised stays.
    """

    trade_id = models.CharField(max_length=64)
    executed_at = models.DateTimeField()
    entry_price_off_tick = models.BooleanField(default=False)
    exit_price_off_tick = models.BooleanField(default=False)
    stop_loss_off_tick = models.BooleanField(default=False)
    quantity_off_step = models.BooleanField(default=False)
    pnl_mismatch = models.BooleanField(default=False)
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [
            # The flags' ON CONFLICT, and the trade list's lookup of a page's flags.
            models.UniqueConstraint(
                fields=["trade_id", "executed_at"], name="journal_tradecheck_key"
            ),
        ]

    def __str__(self):
        return f"checks of {self.trade_id}: {', '.join(self.flagged) or 'clean'}"

    @property
    def flagged(self) -> tuple[str, ...]:
        """The flagged columns: its boolean fields that are set, in their order (the
        order of journal.write.checks.FLAGS)."""
        return tuple(
            field.name
            for field in self._meta.concrete_fields
            if isinstance(field, models.BooleanField) and getattr(self, field.attname)
        )


class OpenTrade(models.Model):
    """One row per open trade, written only by the database's triggers on journal_trade
    (journal.write.open_trades): what the risk gate counts on every idea."""

    trade_pk = models.BigIntegerField(primary_key=True)
    executed_at = models.DateTimeField()
    symbol = models.CharField(max_length=32)
    strategy = models.CharField(max_length=64)
    account = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["strategy"], name="journal_opentrade_strat_idx")]

    def __str__(self):
        return f"open trade {self.trade_pk} {self.symbol}"


class TradeReview(models.Model):
    """The staff's review of one trade; every change is kept in ReviewChange.

    No database foreign key: a hypertable's ``id`` is indexed but not unique, and a
    foreign key needs a unique target. Trades are never deleted, so nothing dangles.
    """

    trade = models.OneToOneField(
        Trade, on_delete=models.DO_NOTHING, db_constraint=False, related_name="review"
    )
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.UNREVIEWED
    )
    grade = models.CharField(max_length=2, blank=True, default="")
    # Tags and mistakes are lists of words, each spelled one way (journal.tags).
    tags = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True, default="")
    mistakes = models.JSONField(
        default=list, blank=True, help_text="the mistakes made, as tags: chased, moved stop"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReviewStatus.values), name="journal_review_status_valid"
            ),
        ]
        # The tag and mistake filters' GIN indexes are PostgreSQL only (migrations 0013
        # and 0017).
        indexes = [models.Index(fields=["status"], name="journal_review_status_idx")]

    def __str__(self):
        try:
            name = self.trade.trade_id
        except Trade.DoesNotExist:
            name = f"trade {self.trade_id}"  # trades are never deleted; a restore may lag
        return f"Review of {name}: {self.get_status_display()}"


class ReviewChange(models.Model):
    """One changed field of a review: who, when, old → new. Append-only."""

    review = models.ForeignKey(TradeReview, on_delete=models.PROTECT, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    field = models.CharField(max_length=20)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["review", "-changed_at"], name="journal_rchange_idx")]

    def __str__(self):
        return f"{self.field}: {self.old_value!r} → {self.new_value!r}"


class QuarantineStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a person"
    RESUBMITTED = "resubmitted", "Fixed and re-submitted"
    DISCARDED = "discarded", "Discarded"


class QuarantinedLine(models.Model):
    """A spooled line that a replay could not store, kept byte for byte.

    The spool's quarantine directory holds the same bytes on the disk they were spooled
    to; this row is the operator's worklist: fix and re-submit, or discard with a reason.
    Rows are never deleted; a decision is recorded on the row (who, when, what).
    """

    quarantined_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=200, help_text="the sealed spool file")
    line_number = models.PositiveIntegerField()
    raw = models.BinaryField(help_text="the line's exact bytes")
    sha256 = models.CharField(max_length=64)
    reason = models.TextField()
    status = models.CharField(
        max_length=12, choices=QuarantineStatus.choices, default=QuarantineStatus.PENDING
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolution = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "quarantined spool line"
        ordering = ["-quarantined_at", "-id"]
        constraints = [
            # A replay that runs again after a crash quarantines the same line once.
            models.UniqueConstraint(
                fields=["source", "line_number"], name="journal_quarantine_key"
            ),
            models.CheckConstraint(
                condition=Q(status__in=QuarantineStatus.values),
                name="journal_quarantine_status_valid",
            ),
        ]
        indexes = [
            # The admin's worklist and /readyz's count: pending first.
            models.Index(fields=["status", "-quarantined_at"], name="journal_quarantine_idx"),
        ]

    def __str__(self):
        return f"{self.source} line {self.line_number}"


class QuarantineResubmission(models.Model):
    """The audit of one re-submitted quarantined line: who, when, the line, the trade as
    the line said it and as it was stored. Append-only: nothing edits or deletes it.

    The records are kept as JSON text with every non-ASCII character escaped: what a
    line failed on (a NUL, a lone surrogate) cannot be stored in a jsonb value.
    """

    line = models.OneToOneField(
        QuarantinedLine, on_delete=models.PROTECT, related_name="resubmission"
    )
    resubmitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    resubmitted_at = models.DateTimeField(auto_now_add=True)
    trade_id = models.CharField(max_length=64)
    executed_at = models.DateTimeField()
    original = models.TextField(help_text="the trade as the line said it (JSON)")
    corrected = models.TextField(help_text="the trade as it was stored (JSON)")
    changed_fields = models.TextField(help_text="the fields corrected (a JSON list)")
    outcome = models.CharField(max_length=20, help_text="created, closed or already stored")

    class Meta:
        ordering = ["-resubmitted_at", "-id"]

    def __str__(self):
        return f"re-submission of {self.line}"


class AssetClass(models.TextChoices):
    FX = "fx", "Foreign exchange"
    INDEX = "index", "Stock index"
    COMMODITY = "commodity", "Commodity"
    CRYPTO = "crypto", "Crypto"
    EQUITY = "equity", "Equity"
    BOND = "bond", "Bond"


class Instrument(models.Model):
    """What is traded: how its prices and quantities are written and what a move is worth.

    A price move of 1.0 on a quantity of 1 is worth ``point_value`` in the
    ``quote_currency`` (the contract size: 100,000 for a standard FX lot, 50 for an E-mini
    S&P future, 1 for a share or a coin), so a trade's P&L is
    (exit - entry) x quantity x point_value for a long, less fees.
    """

    symbol = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100, help_text="e.g. Euro / US Dollar")
    asset_class = models.CharField(max_length=10, choices=AssetClass.choices)
    quote_currency = models.CharField(
        max_length=5, help_text="the currency of prices and P&L, e.g. USD, JPY, USDT"
    )
    tick_size = models.DecimalField(
        **DECIMAL, help_text="the smallest price step, e.g. 0.00001 (EURUSD), 0.25 (ES)"
    )
    price_decimals = models.PositiveSmallIntegerField(
        help_text="decimals prices are shown with, e.g. 5 (EURUSD), 3 (USDJPY), 2 (US500)"
    )
    quantity_step = models.DecimalField(
        **DECIMAL, help_text="the smallest quantity step, e.g. 0.01 lots, 1 contract"
    )
    quantity_unit = models.CharField(
        max_length=20, default="lots", help_text="lots, contracts, shares, coins, ounces"
    )
    point_value = models.DecimalField(
        **DECIMAL,
        help_text="what a price move of 1.0 on a quantity of 1 is worth, in the quote "
        "currency (the contract size)",
    )
    is_active = models.BooleanField(default=True, help_text="trades and ideas may use it")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tick_size__gt=0, quantity_step__gt=0, point_value__gt=0),
                name="journal_instrument_steps_positive",
            ),
            models.CheckConstraint(
                condition=Q(price_decimals__lte=8), name="journal_instrument_decimals_range"
            ),
        ]

    def __str__(self):
        return f"{self.symbol} ({self.name})" if self.name else self.symbol

    def clean(self):
        from django.core.exceptions import ValidationError

        from journal.domain.trade_record import SYMBOL

        errors = {}
        self.symbol = (self.symbol or "").strip().upper()
        if not SYMBOL.match(self.symbol):
            errors["symbol"] = "Use capital letters, digits and . _ / : = ^ - (up to 32)."
        self.quote_currency = (self.quote_currency or "").strip().upper()
        # A crypto instrument may be quoted in a coin ISO 4217 does not list (USDT).
        problem = currency_problem(
            self.quote_currency, crypto=self.asset_class == AssetClass.CRYPTO
        )
        if problem:
            errors["quote_currency"] = problem
        if self.tick_size is not None and self.price_decimals is not None:
            places = -self.tick_size.normalize().as_tuple().exponent
            if places > self.price_decimals:
                errors["price_decimals"] = (
                    f"The tick size {self.tick_size.normalize()} needs at least {places} decimals."
                )
        if errors:
            raise ValidationError(errors)


class StatementStatus(models.TextChoices):
    WAITING_CHECK = "waiting_check", "Waiting for its dry run"
    CHECKING = "checking", "Dry run under way"
    CHECKED = "checked", "Checked: ready to import"
    WAITING_IMPORT = "waiting_import", "Waiting to import"
    IMPORTING = "importing", "Importing"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"


class StatementImport(models.Model):
    """A broker statement uploaded in the admin: its file, its dry run, its import.

    The file is kept in the database, so that a job worker on another machine reads
    it. The dry run and the import run as jobs (journal.statements.jobs); a job claims
    its step by a conditional update of ``status``, so that a step runs once even when
    two runners pick it up. The import is one transaction: a job that dies leaves
    nothing behind, and may be run again.
    """

    filename = models.CharField(max_length=200)
    format = models.CharField(max_length=10)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="the clock of the statement's times"
    )
    account = models.CharField(max_length=64, blank=True, default="")
    strategy = models.CharField(max_length=64, blank=True, default="")
    content = models.BinaryField()
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=16, choices=StatementStatus.choices, default=StatementStatus.WAITING_CHECK
    )
    runner = models.CharField(max_length=20, blank=True, default="")
    # The token of the runner that claimed the running step: only its outcome is kept.
    claim = models.CharField(max_length=32, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    check_report = models.JSONField(default=dict, blank=True)
    import_report = models.JSONField(default=dict, blank=True)
    failure = models.TextField(blank=True, default="")
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "broker statement"
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=StatementStatus.values),
                name="journal_statement_status_valid",
            ),
        ]
        indexes = [
            # The list, newest first; the same file uploaded again (sha256).
            models.Index(fields=["-uploaded_at"], name="journal_statement_time_idx"),
            models.Index(fields=["sha256"], name="journal_statement_sha_idx"),
        ]

    def __str__(self):
        return f"statement {self.pk}: {self.filename}"


class MarketBias(models.TextChoices):
    NONE = "", "No view"
    BULLISH = "bullish", "Bullish"
    BEARISH = "bearish", "Bearish"
    NEUTRAL = "neutral", "Neutral (a range)"


# What a note's Markdown fields hold at most: a page of text each.
NOTE_TEXT_LIMIT = 20_000


class DailyNote(models.Model):
    """A trader's note of one day: the plan before the session (bias, levels, rules) and
    the review after it, in Markdown (rendered safely: journal.notes.markdown).

    One note a day for the whole desk, and optionally one per account or strategy
    (empty: all of them). Rules broken are written one a line: the weekly recap lists
    them beside the trades whose review names a mistake.
    """

    day = models.DateField(help_text="the trading day (UTC) the note is about")
    account = models.CharField(
        max_length=64, blank=True, default="", help_text="empty: every account"
    )
    strategy = models.CharField(
        max_length=64, blank=True, default="", help_text="empty: every strategy"
    )
    bias = models.CharField(max_length=8, blank=True, default="", choices=MarketBias.choices)
    levels = models.TextField(
        blank=True, default="", help_text="Markdown: the prices that matter today and why"
    )
    rules = models.TextField(
        blank=True, default="", help_text="Markdown: the rules for today (size, setups, stop)"
    )
    plan = models.TextField(blank=True, default="", help_text="Markdown: the rest of the plan")
    review = models.TextField(
        blank=True, default="", help_text="Markdown: after the session, what happened and why"
    )
    rules_broken = models.TextField(
        blank=True, default="", help_text="One rule broken a line (the weekly recap lists them)"
    )
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    written_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "account", "strategy"]
        constraints = [
            # One note per day for each scope (the desk, an account, a strategy).
            models.UniqueConstraint(
                fields=["day", "account", "strategy"], name="journal_dailynote_scope"
            ),
            models.CheckConstraint(
                condition=Q(bias__in=MarketBias.values), name="journal_dailynote_bias_valid"
            ),
        ]

    def __str__(self):
        scope = " · ".join(part for part in (self.account, self.strategy) if part)
        return f"note of {self.day:%Y-%m-%d}" + (f" ({scope})" if scope else "")

    @property
    def rules_broken_list(self) -> list[str]:
        return [line.strip() for line in self.rules_broken.splitlines() if line.strip()]
