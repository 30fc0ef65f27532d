"""Admin of governance, for looking things up. Changes go through the audited services and their
pages (people, exemptions, governance rules, items): here a team can be renamed (audited) and the
rest is read-only."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.http import HttpRequest

from audit import trail
from audit.admin import ReadOnlyAdmin
from governance.api_tokens import revoke_api_token
from governance.models import ApiToken, Assignment, Exemption, GovernanceRule, Membership, Team
from governance.roles import role_of


class MembershipInline(admin.TabularInline[Membership, Team]):
    """Who is in the team; roles and teams change on the people page (governance/people.py)."""

    model = Membership
    extra = 0
    fields = readonly_fields = ("user", "is_lead")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    inlines = (MembershipInline,)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Items and rules hold on to their team (PROTECT): a team is not deleted from here.
        return False

    def save_model(self, request: HttpRequest, obj: Team, form: Any, change: bool) -> None:
        before = {"name": form.initial.get("name")} if change else None
        super().save_model(request, obj, form, change)
        if not change or "name" in form.changed_data:
            trail.record(
                actor=request.user,
                action=trail.TEAM,
                obj=obj,
                summary=f"team {obj} {'renamed' if change else 'created'} in the admin",
                before=before,
                after={"name": obj.name},
                ip=trail.client_ip(request),
            )


@admin.register(GovernanceRule)
class GovernanceRuleAdmin(ReadOnlyAdmin):
    """Rules are written on their page (governance/rules.py validates, audits and applies them)."""

    list_display = ("priority", "name", "active", "team", "owner_email", "owner_tag", "timeframe_days")
    list_filter = ("active", "grace_period", "timeframe_days")
    search_fields = ("name",)
    list_select_related = ("team",)


@admin.register(Exemption)
class ExemptionAdmin(ReadOnlyAdmin):
    list_display = ("recommendation", "scope_label", "category", "expires_at", "ended_at", "created_by")
    list_filter = ("category",)
    search_fields = ("recommendation__key", "justification")
    list_select_related = ("recommendation", "subscription", "resource", "created_by")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("pk", "assessment", "finding", "team", "owner", "status", "due_date", "manual")
    list_filter = ("status", "manual", "grace_period", "team")
    search_fields = ("owner",)
    list_select_related = ("assessment", "finding", "team")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are issued by `manage.py create_api_token` (the key is shown once); here they are revoked."""

    list_display = ("prefix", "user", "label", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "user__username", "label")
    list_select_related = ("user",)
    exclude = ("digest",)
    actions = ("revoke",)

    @admin.action(description="Revoke the selected API tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        ip = trail.client_ip(request)
        revoked = [
            token
            for token in queryset.select_related("user")
            if revoke_api_token(token, actor=request.user, ip=ip)
        ]
        self.message_user(request, f"{len(revoked)} token(s) revoked")


class AuditedUserAdmin(UserAdmin):
    """Django's user admin, with a change of role (its groups) in the audit log like any other."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        user = form.instance
        before = role_of(User.objects.get(pk=user.pk)) if change else None
        super().save_related(request, form, formsets, change)
        after = role_of(User.objects.get(pk=user.pk))
        if before != after:
            now = after.label if after else "without a role"
            trail.record(
                actor=request.user,
                action=trail.ROLE,
                obj=user,
                summary=f"{user.get_username()} is now {now} (admin site)",
                before={"role": before.value if before else None},
                after={"role": after.value if after else None},
                ip=trail.client_ip(request),
            )


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
