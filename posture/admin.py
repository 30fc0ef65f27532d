"""Admin of the estate."""

from django.contrib import admin

from posture.models import Resource, Subscription


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
