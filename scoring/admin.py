"""Admin of the security controls."""

from django.contrib import admin

from scoring.models import Control


@admin.register(Control)
class ControlAdmin(admin.ModelAdmin[Control]):
    list_display = ("name", "max_score", "position", "catalog_version")
    filter_horizontal = ("recommendations",)
