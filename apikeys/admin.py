"""Admin for API keys: create (the key is shown once), see scopes and use, revoke."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from apikeys.models import ApiKey, Scope
from apikeys.services import ApiKeyError, api_key_create, api_key_revoke
from backoffice.core.admin_site import ModelAdmin


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(ModelAdmin):
    list_display = ["name", "prefix", "scope_list", "active", "created_at", "last_used_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = [
        "name",
        "prefix",
        "scopes",
        "created_at",
        "created_by",
        "revoked_at",
        "last_used_at",
    ]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["name", "scopes"] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record of who had which key stays

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.display(boolean=True, description="active")
    def active(self, obj):
        return obj.is_active

    def save_model(self, request, obj, form, change):
        if change:
            return  # keys are immutable; revoke and create a new one
        try:
            key, raw_key = api_key_create(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                created_by=request.user,
            )
        except ApiKeyError as exc:
            form.add_error(None, str(exc))
            raise
        obj.pk = key.pk
        # Shown once, on the answer to this request (response_add): never in the
        # messages, which travel in a cookie and are shown on the next page.
        request._new_api_key = (key, raw_key)

    def response_add(self, request, obj, post_url_continue=None):
        created = getattr(request, "_new_api_key", None)
        if created is None:
            return super().response_add(request, obj, post_url_continue)
        key, raw_key = created
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"API key {key.name} created",
            "key": key,
            "raw_key": raw_key,
        }
        response = TemplateResponse(request, "admin/apikeys/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sum(api_key_revoke(key=key) for key in queryset)
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
