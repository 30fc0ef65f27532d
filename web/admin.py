"""Admin of the estate."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.trail import client_ip
from intake.agents import set_auto_provisioning
from posture.agents import revoke_token
from posture.errors import UserError
from posture.models import EnrollmentToken, Resource, Subscription, SubscriptionGroup, Workspace
from posture.subscription_groups import delete_groups, group_state, record_change, valid_group_name
from recommendations.evaluators.agents import evaluate_all_agents


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    list_display = ("name", "cloud", "external_id", "provisioning_workspace", "created_at")
    list_filter = ("cloud",)
    search_fields = ("name", "external_id")
    list_select_related = ("provisioning_workspace",)

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        # Auto-provisioning changes machines too: through the one service that does it.
        workspace = obj.provisioning_workspace
        super().save_model(request, obj, form, change)
        if change and "provisioning_workspace" in form.changed_data:
            set_auto_provisioning(obj, workspace)


class SubscriptionGroupForm(forms.ModelForm[SubscriptionGroup]):
    def clean_name(self) -> str:
        try:
            return valid_group_name(self.cleaned_data["name"])
        except UserError as error:
            raise forms.ValidationError(error.message) from None


@admin.register(SubscriptionGroup)
class SubscriptionGroupAdmin(admin.ModelAdmin[SubscriptionGroup]):
    """Groups change here as on the Subscriptions page: validated the same way, and audited."""

    form = SubscriptionGroupForm
    list_display = ("name", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("subscriptions",)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The subscriptions are saved here, after the group: compare what it held with what it holds.
        group = form.instance
        before = {**group_state(group), "name": form.initial.get("name", group.name)} if change else None
        super().save_related(request, form, formsets, change)
        record_change(
            actor=request.user, group=group, before=before, after=group_state(group), ip=client_ip(request)
        )

    def delete_model(self, request: HttpRequest, obj: SubscriptionGroup) -> None:
        delete_groups(
            actor=request.user, groups=SubscriptionGroup.objects.filter(pk=obj.pk), ip=client_ip(request)
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SubscriptionGroup]) -> None:
        delete_groups(actor=request.user, groups=queryset, ip=client_ip(request))


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin[Resource]):
    list_display = (
        "name",
        "kind",
        "os",
        "subscription",
        "resource_group",
        "agent_state",
        "agent_evidence",
        "last_heartbeat",
    )
    list_filter = ("kind", "os", "agent_state", "agent_evidence", "power_state", "subscription")
    search_fields = ("name", "resource_id")
    list_select_related = ("subscription",)
    raw_id_fields = ("parent",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin[Workspace]):
    list_display = ("name", "workspace_id", "scan_profile", "created_at")
    search_fields = ("name", "workspace_id")

    def save_model(self, request: HttpRequest, obj: Workspace, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Machines naming a workspace become known (or unknown) by it: re-evaluate their agent health.
        if not change or "workspace_id" in form.changed_data:
            evaluate_all_agents()

    def delete_model(self, request: HttpRequest, obj: Workspace) -> None:
        super().delete_model(request, obj)
        evaluate_all_agents()


@admin.register(EnrollmentToken)
class EnrollmentTokenAdmin(admin.ModelAdmin[EnrollmentToken]):
    """Tokens are issued with `manage.py enrollment_token` (shown once); here they are only revoked."""

    list_display = ("prefix", "workspace", "label", "created_at", "last_used_at", "revoked_at")
    list_filter = ("workspace",)
    readonly_fields = (
        "workspace",
        "digest",
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[EnrollmentToken]) -> None:
        for record in queryset:
            revoke_token(record)
