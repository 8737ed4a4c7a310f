"""The model registry: registered models, their numbered versions, aliases and alias moves.

A version is a record of an immutable artifact: the file under MODEL_STORAGE_DIR is named
by its SHA-256 and is checked against the recorded hash and size every time it is loaded.
Aliases (``production``, ``staging``, any slug) point at versions; every move is kept in
AliasMove, which nothing updates or deletes.
"""

from django.conf import settings
from django.db import models


class Task(models.TextChoices):
    BINARY_CLASSIFICATION = "binary_classification", "Binary classification"
    REGRESSION = "regression", "Regression"


class Framework(models.TextChoices):
    XGBOOST = "xgboost", "XGBoost (JSON / UBJ)"
    LIGHTGBM = "lightgbm", "LightGBM (text model)"
    SKLEARN_SKOPS = "sklearn-skops", "scikit-learn (skops: loads no code)"
    SKLEARN_JOBLIB = "sklearn-joblib", "scikit-learn pickle (joblib: runs code; operators only)"
    ONNX = "onnx", "ONNX (ONNX Runtime: neural networks and more)"


class PickleTrust(models.TextChoices):
    """Why a joblib (pickle) version may be unpickled; only these ever are."""

    NONE = "", "not trusted"
    OPERATOR = "operator", "an operator registered it with --trust-pickle"
    LEGACY = "legacy", "registered before pickles needed an operator (migration 0004)"


class OutputKind(models.TextChoices):
    PROBABILITY = "probability", "Probability of the positive class"
    VALUE = "value", "Predicted value"


class PositiveClass(models.TextChoices):
    """What a classifier's probability is the probability of, for the desk: a trade
    idea's confidence is the probability that its direction wins (desk.selectors)."""

    WIN = "win", "The trade it scores wins (either direction)"
    UP = "up", "The price goes up (a short's confidence is the complement)"


class RegisteredModel(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    task = models.CharField(max_length=32, choices=Task.choices, default=Task.BINARY_CLASSIFICATION)
    positive_class = models.CharField(
        "its probability is that",
        max_length=8,
        choices=PositiveClass.choices,
        default=PositiveClass.WIN,
        help_text="For a classifier: what its probability is the probability of. A trade "
        "idea citing one of its predictions takes its confidence from it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ModelVersion(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    # Numbered 1, 2, 3 ... per model by models_registry.services.model_register.
    version = models.PositiveIntegerField(editable=False)
    framework = models.CharField(max_length=20, choices=Framework.choices)
    # Relative to MODEL_STORAGE_DIR: artifacts/<sha256[:2]>/<sha256>.<ext>
    artifact_path = models.CharField(max_length=255, editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    size = models.PositiveBigIntegerField(editable=False)
    # Ordered: [{"name": "rsi_14", "type": "float"}, ...]; "inputs" rows follow this order.
    feature_schema = models.JSONField(default=list)
    output_kind = models.CharField(max_length=20, choices=OutputKind.choices)
    metrics = models.JSONField(default=dict, blank=True)
    # The training distribution, per feature (models_registry.domain.profiles): the deciles of
    # the training rows (or of a reference sample given later) that live inputs are
    # compared with. Empty: the drift of this version is unknown.
    feature_profile = models.JSONField(default=dict, blank=True)
    training_window_start = models.DateTimeField(null=True, blank=True)
    training_window_end = models.DateTimeField(null=True, blank=True)
    description = models.TextField(blank=True)
    # Unpickling runs code: a joblib version is loaded only when this says who trusted it.
    pickle_trust = models.CharField(
        max_length=10, choices=PickleTrust.choices, default=PickleTrust.NONE, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when an operator registered it with manage.py.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A compiled tree predictor (models_registry.compiling): a shared library this server
    # built from the verified artifact (never uploaded), stored like an artifact and
    # loaded only when its size and SHA-256 match these. Empty: not compiled.
    compiled_path = models.CharField(max_length=255, blank=True, editable=False)
    compiled_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    compiled_size = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # {"tl2cgen", "treelite", "gcc", the framework, "machine", "system"}: versions and
    # platform of the build; serving refuses a library built for another platform.
    compiled_toolchain = models.JSONField(default=dict, blank=True, editable=False)
    # The largest disagreement with the booster on the compile step's probe rows.
    compiled_max_error = models.FloatField(null=True, blank=True, editable=False)
    compiled_by = models.CharField(
        max_length=150,
        blank=True,
        editable=False,
        help_text="Who built it: the operator (login@host) who ran manage.py "
        "compile_model, or the job engine (job-engine@host) that compiled it in the "
        "background.",
    )
    compiled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Why the job engine leaves this version alone (models_registry.auto_compile): its
    # compile failed (the reason), or an operator removed its library. Empty: a tree
    # version not yet compiled is compiled in the background. An operator's
    # compile_model clears it.
    compile_hold = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text="Why the job engine does not compile this version in the background.",
    )

    class Meta:
        ordering = ["model__name", "-version"]
        constraints = [
            # The numbering race's last line of defence (the service also locks the model).
            models.UniqueConstraint(fields=["model", "version"], name="model_version_unique"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="model_version_gte_1"),
            # Trust is recorded on pickles only, and only an operator (no user) gives it now.
            models.CheckConstraint(
                condition=models.Q(pickle_trust="") | models.Q(framework="sklearn-joblib"),
                name="model_version_pickle_trust_on_pickles",
            ),
            models.CheckConstraint(
                condition=~models.Q(pickle_trust="operator") | models.Q(created_by__isnull=True),
                name="model_version_pickle_trusted_by_operator",
            ),
            # A compiled library is recorded whole, and only on the tree boosters.
            models.CheckConstraint(
                condition=models.Q(compiled_sha256="", compiled_path="", compiled_size__isnull=True)
                | (
                    models.Q(framework__in=["xgboost", "lightgbm"], compiled_size__isnull=False)
                    & ~models.Q(compiled_sha256="")
                    & ~models.Q(compiled_path="")
                ),
                name="model_version_compiled_whole_on_trees",
            ),
        ]

    def __str__(self):
        return f"{self.model.name}@{self.version}"

    @property
    def feature_names(self) -> list[str]:
        return [feature["name"] for feature in self.feature_schema]

    @property
    def pickle_trusted(self) -> bool:
        """A joblib version that may be unpickled (an operator's or a legacy mark)."""
        return self.framework == Framework.SKLEARN_JOBLIB and self.pickle_trust in {
            PickleTrust.OPERATOR,
            PickleTrust.LEGACY,
        }

    @property
    def is_compiled(self) -> bool:
        return bool(self.compiled_sha256)


class ChallengerMode(models.TextChoices):
    SHADOW = "shadow", "shadow (scores off the request path, never answers)"
    CANARY = "canary", "canary (answers a share of the requests)"


class ModelAlias(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    name = models.SlugField(max_length=50)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A challenger beside the alias's version (its champion), serving.live.challenger_routing: in
    # shadow mode it scores the same rows off the request path, recorded and never
    # answering; in canary mode it answers challenger_share of the requests, chosen by a
    # stable hash of the caller's routing key.
    challenger = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    challenger_mode = models.CharField(
        max_length=10, choices=ChallengerMode.choices, blank=True, default=""
    )
    challenger_share = models.FloatField(
        default=0.0, help_text="canary: the share of keyed requests the challenger answers"
    )

    class Meta:
        verbose_name_plural = "model aliases"
        ordering = ["model__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["model", "name"], name="model_alias_unique"),
            # A challenger has a mode and nothing else does; a share is a share.
            models.CheckConstraint(
                condition=(models.Q(challenger__isnull=True) & models.Q(challenger_mode=""))
                | (models.Q(challenger__isnull=False) & ~models.Q(challenger_mode="")),
                name="model_alias_challenger_mode",
            ),
            models.CheckConstraint(
                condition=models.Q(challenger_share__gte=0) & models.Q(challenger_share__lte=1),
                name="model_alias_challenger_share",
            ),
        ]

    def __str__(self):
        return f"{self.model.name}:{self.name}"


class AliasMove(models.Model):
    """One move of an alias, append-only: who, when, from which version to which."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="alias_moves")
    alias = models.SlugField(max_length=50)
    # Empty when the alias was created by this move.
    from_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when an operator moved it with manage.py.",
    )
    moved_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=300, blank=True)
    # A move whose new version refuses (or misreads) requests the old one took: only
    # made when its mover confirmed it with a reason.
    breaking = models.BooleanField(default=False)
    # models_registry.domain.promotions.SchemaDiff.as_json() of from -> to, and "breaking":
    # the reasons clients break; {} for a move that created the alias.
    schema_diff = models.JSONField(default=dict, blank=True)
    # Set on a rollback: the move it undid.
    rollback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A challenger's promotion: the live rows both versions had scored (the comparison's
    # same rows, serving.live.comparison) when it was promoted; empty for any other move.
    evidence_rows = models.PositiveIntegerField(null=True, blank=True)
    # Promoted on fewer rows than MODEL_PROMOTION_MIN_ROWS: only made with a reason.
    thin_evidence = models.BooleanField(default=False)

    class Meta:
        ordering = ["-moved_at", "-id"]
        indexes = [
            # The admin's history of one model, newest first.
            models.Index(fields=["model", "-moved_at"], name="aliasmove_model_time"),
            # A rollback's lookup of an alias's last move.
            models.Index(fields=["model", "alias", "-id"], name="aliasmove_model_alias_last"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(breaking=False) | ~models.Q(reason=""),
                name="aliasmove_breaking_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(thin_evidence=False)
                | (~models.Q(reason="") & models.Q(evidence_rows__isnull=False)),
                name="aliasmove_thin_evidence_has_reason",
            ),
        ]

    def __str__(self):
        source = f"v{self.from_version.version}" if self.from_version_id else "(new)"
        return f"#{self.pk} {self.model.name}:{self.alias} {source} -> v{self.to_version.version}"


class ChallengerChange(models.Model):
    """One change of an alias's challenger, append-only: set, cleared or promoted."""

    class Action(models.TextChoices):
        SET = "set", "challenger set"
        CLEARED = "cleared", "challenger removed"
        PROMOTED = "promoted", "challenger promoted"

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="challenger_changes"
    )
    alias = models.SlugField(max_length=50)
    action = models.CharField(max_length=10, choices=Action.choices)
    # The challenger set, removed or promoted, its mode and share at the time.
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=10, choices=ChallengerMode.choices)
    share = models.FloatField(default=0.0)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when an operator changed it with manage.py.",
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=300, blank=True)
    # A promotion's alias move.
    move = models.ForeignKey(
        AliasMove, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["model", "alias", "-id"], name="challenger_change_last"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.model.name}:{self.alias} {self.action} v{self.version.version}"


class BreakingMoveRequest(models.Model):
    """Four eyes on a breaking alias move (issue 27): a person confirmed a move that
    breaks the alias's clients (a schema change, or serving a version a rollback
    withdrew); it waits for a second person with the permission to move aliases, and
    the alias stays where it is until then (models_registry.four_eyes). ``kind`` and
    ``params`` say how to make the move again on confirmation: a plain move, a rollback
    or a challenger's promotion, each checked against what the requester saw."""

    class Kind(models.TextChoices):
        MOVE = "move", "Move"
        ROLLBACK = "rollback", "Rollback"
        PROMOTE = "promote", "Promotion"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second person"
        CONFIRMED = "confirmed", "Confirmed"
        DECLINED = "declined", "Declined"
        STALE = "stale", "Overtaken: the alias moved since"

    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="+")
    alias = models.SlugField(max_length=50)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The service's keyword arguments by id (versions and moves), as the requester saw.
    params = models.JSONField(default=dict)
    to_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    breaking = models.JSONField(default=list, help_text="why the move breaks clients")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision_note = models.CharField(max_length=500, blank=True, default="")
    move = models.ForeignKey(
        AliasMove, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "breaking move waiting for a second person"
        verbose_name_plural = "breaking moves waiting for a second person"
        ordering = ["-requested_at", "-id"]
        indexes = [
            # The queue of requests waiting for a second person.
            models.Index(fields=["status", "-requested_at"], name="registry_breakreq_queue_idx")
        ]

    def __str__(self):
        return (
            f"#{self.pk} {self.get_kind_display()} of {self.model.name}:{self.alias} to "
            f"version {self.to_version.version} ({self.get_status_display().lower()})"
        )
