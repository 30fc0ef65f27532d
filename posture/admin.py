"""Admin of the estate."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from posture.agents import revoke_token
from posture.models import EnrollmentToken, Resource, Subscription, Workspace


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    list_display = ("name", "external_id", "created_at")
    search_fields = ("name", "external_id")


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin[Resource]):
    list_display = ("name", "kind", "os", "subscription", "resource_group", "agent_state", "last_heartbeat")
    list_filter = ("kind", "os", "agent_state", "power_state", "subscription")
    search_fields = ("name", "resource_id")
    list_select_related = ("subscription",)
    raw_id_fields = ("parent",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin[Workspace]):
    list_display = ("name", "workspace_id", "scan_profile", "created_at")
    search_fields = ("name", "workspace_id")


@admin.register(EnrollmentToken)
class EnrollmentTokenAdmin(admin.ModelAdmin[EnrollmentToken]):
    """Tokens are issued with `manage.py enrollment_token` (shown once); here they are only revoked."""

    list_display = ("prefix", "workspace", "created_at", "last_used_at", "revoked_at")
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
