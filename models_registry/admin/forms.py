"""Admin forms of the registry: the model upload and the alias move."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings

from backoffice.core.forms import PlainIntegerField, plain_ids
from models_registry.artifacts import loaders
from models_registry.errors import BreakingMove, RegistryError
from models_registry.models import Framework, ModelVersion, RegisteredModel, Task
from models_registry.services import ANY_CURRENT, AUTO, REASON_MAX

# The admin takes every framework but pickles, which run code when loaded (operators only).
UPLOAD_FRAMEWORKS = [(v, label) for v, label in Framework.choices if v != Framework.SKLEARN_JOBLIB]


class ModelUploadForm(forms.Form):
    """The admin's model upload: checks the input only; the view then registers it.

    Whatever the registry refuses (a file that does not load, a pickle, a schema that
    does not fit, a file already registered) comes back from the service and is shown
    on the field it names.
    """

    model_name = forms.SlugField(
        label="Model name",
        max_length=100,
        help_text="An existing model gets a new version; a new name, a new model.",
    )
    file = forms.FileField(
        help_text="XGBoost .json/.ubj, LightGBM .txt, scikit-learn .skops (skops.io.dump) "
        "or ONNX .onnx. Pickles (.joblib, .pkl) run code when loaded and are not accepted."
    )
    framework = forms.ChoiceField(choices=[(AUTO, "auto (from the file)"), *UPLOAD_FRAMEWORKS])
    features = forms.CharField(
        required=False,
        help_text="Only for a model that carries no feature names: f1,f2,... in column order.",
    )
    alias = forms.SlugField(
        required=False, max_length=50, help_text="e.g. staging; leave empty to move none."
    )
    task = forms.ChoiceField(choices=Task.choices, help_text="For a new model.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    metrics = forms.CharField(required=False, help_text='Optional JSON object, e.g. {"auc": 0.71}.')

    # The registry's names for inputs that are called otherwise here.
    SERVICE_FIELDS = {"name": "model_name", "path": "file"}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.MODEL_UPLOAD_MAX_MB * 1024 * 1024
        if upload.size > limit:
            limit_mb = settings.MODEL_UPLOAD_MAX_MB
            raise forms.ValidationError(
                f"the file has {upload.size:,} bytes; the limit is {limit_mb} MB"
            )
        suffix = "." + upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if suffix not in loaders.EXTENSIONS:
            allowed = ", ".join(sorted(loaders.EXTENSIONS))
            raise forms.ValidationError(
                f"a {suffix or 'nameless'} file is not a model: use {allowed}"
            )
        return upload

    def clean_metrics(self):
        raw = self.cleaned_data["metrics"].strip()
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("give a JSON object")
        return value

    def add_service_error(self, exc: RegistryError) -> None:
        """Show a refusal of the registry on the field it names (else above the form)."""
        if isinstance(exc, BreakingMove):
            self.add_error(
                "alias",
                f"{exc}. Leave the alias empty to register the version, then move the "
                "alias from the model's page, where a move that breaks clients is "
                "confirmed with a reason",
            )
            return
        field = self.SERVICE_FIELDS.get(exc.field or "", exc.field)
        self.add_error(field if field in self.fields else None, str(exc))


BREAKING_LABEL = "Move it anyway: the clients are ready for the new schema"
REASON_HELP = "Recorded with the move. Required when the move breaks clients."


class AliasMoveForm(forms.Form):
    """An alias move: chosen on the first page, confirmed on the second.

    ``current`` is what the confirmation compared against ("new": no alias yet), so
    that a move made by someone else meanwhile is not confirmed unseen.
    """

    alias = forms.SlugField(max_length=50, initial="production")
    version = forms.ModelChoiceField(queryset=ModelVersion.objects.none())
    reason = forms.CharField(
        max_length=REASON_MAX,
        required=False,
        help_text=REASON_HELP,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    confirm_breaking = forms.BooleanField(required=False, label=BREAKING_LABEL)
    current = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, model: RegisteredModel, **kwargs):
        super().__init__(*args, **kwargs)
        self.model = model
        self.fields["version"].queryset = model.versions.order_by("-version")

    def clean_current(self):
        """ANY_CURRENT when not given (the first page), None for "new", else the version."""
        raw = self.cleaned_data["current"]
        if raw == "":
            return ANY_CURRENT
        if raw == "new":
            return None
        ids = plain_ids(raw, limit=1) if "," not in raw else []
        version = self.model.versions.filter(pk=ids[0]).first() if ids else None
        if version is None:
            raise forms.ValidationError("not a version of this model: review the move again")
        return version


class AliasRollbackForm(forms.Form):
    """A rollback's confirmation; ``move`` is the last move the page showed."""

    move = PlainIntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        max_length=REASON_MAX,
        required=False,
        help_text='Recorded with the rollback ("rollback of move #N" when empty). '
        "Required when the rollback breaks clients.",
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    confirm_breaking = forms.BooleanField(required=False, label=BREAKING_LABEL)
