"""Admin of the recommendation catalog and assessments."""

from django.contrib import admin

from recommendations.models import Assessment, Recommendation


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin[Recommendation]):
    list_display = ("display_name", "key", "severity", "preview", "catalog_version")
    list_filter = ("severity", "preview")
    search_fields = ("display_name", "key", "assessment_key")


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin[Assessment]):
    list_display = ("resource", "recommendation", "status", "reason", "status_changed", "source")
    list_filter = ("status", "source", "recommendation")
    search_fields = ("resource__name", "reason")
    list_select_related = ("resource", "recommendation")
    raw_id_fields = ("resource",)
