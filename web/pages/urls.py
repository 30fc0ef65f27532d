"""URL map of the pages, by area. Every route requires a login unless it says otherwise, and every name
is in web/access.py's table."""

from django.urls import path

from web.pages import (
    agent_files,
    audit_log,
    baseline_exports,
    dashboard,
    exemption_requests,
    exemptions,
    governance_rules,
    imports,
    install_commands,
    items,
    people,
    quick_fix,
    recommendations,
    resources,
    rules,
    subscriptions,
)

urlpatterns = [
    # The score.
    path("", dashboard.dashboard, name="dashboard"),
    path("charts/score-trend.csv", dashboard.score_trend_csv, name="chart-score-trend-csv"),
    path("charts/failed-rules.csv", dashboard.failed_rules_csv, name="chart-failed-rules-csv"),
    path(
        "charts/top-recommendations.csv",
        dashboard.top_recommendations_csv,
        name="chart-top-recommendations-csv",
    ),
    path("controls/<int:pk>/", dashboard.control_detail, name="control"),
    # Recommendations and OS configuration.
    path("recommendations/<slug:key>/", recommendations.recommendation_detail, name="recommendation"),
    path(
        "recommendations/<slug:key>/export.csv",
        recommendations.recommendation_export_csv,
        name="recommendation-export-csv",
    ),
    path("os-configuration/", rules.os_config_overview, name="os-config"),
    path("rules/<int:pk>/", rules.rule_detail, name="rule"),
    path("baseline/", rules.baseline, name="baseline"),
    path("baseline/export.csv", baseline_exports.baseline_csv, name="baseline-csv"),
    path("baseline/export.xlsx", baseline_exports.baseline_xlsx, name="baseline-xlsx"),
    path("os-configuration/quick-fix/bash/", quick_fix.quick_fix_bash, name="quick-fix-bash"),
    path("os-configuration/quick-fix/ansible/", quick_fix.quick_fix_ansible, name="quick-fix-ansible"),
    path(
        "os-configuration/quick-fix/powershell/", quick_fix.quick_fix_powershell, name="quick-fix-powershell"
    ),
    # The estate: resources, subscriptions and their groups, imports, agents.
    path("resources/", resources.resource_list, name="resource-list"),
    path("resources/<int:pk>/", resources.resource_detail, name="resource"),
    path("subscriptions/", subscriptions.subscription_list, name="subscriptions"),
    path(
        "subscriptions/<int:pk>/auto-provisioning/",
        subscriptions.auto_provisioning,
        name="auto-provisioning",
    ),
    path("subscriptions/groups/", subscriptions.group_create, name="subscription-group-create"),
    path("subscriptions/groups/<int:pk>/", subscriptions.group_change, name="subscription-group-change"),
    path(
        "subscriptions/groups/<int:pk>/delete/", subscriptions.group_delete, name="subscription-group-delete"
    ),
    path("imports/", imports.import_list, name="imports"),
    path("imports/<int:pk>/", imports.import_detail, name="import"),
    path("agent/<str:name>", agent_files.agent_file, name="agent-file"),
    path("agents/install-commands/", install_commands.agent_install_commands, name="agent-install-commands"),
    # Governance: items and the report, exemptions, rules, people, the audit log.
    path("my-items/", items.my_items, name="my-items"),
    path("items/bulk/", items.items_bulk, name="items-bulk"),
    path("items/<int:pk>/", items.item_detail, name="item"),
    path("items/<int:pk>/update/", items.item_update, name="item-update"),
    path("assign/", items.assign_item, name="assign"),
    path("governance/report/", items.report, name="governance-report"),
    path("exemptions/", exemptions.exemption_list, name="exemptions"),
    path("exemptions/new/", exemptions.exemption_create, name="exemption-create"),
    path("exemptions/<int:pk>/end/", exemptions.exemption_end, name="exemption-end"),
    path("exemption-requests/", exemption_requests.exemption_request_list, name="exemption-requests"),
    path(
        "exemption-requests/new/",
        exemption_requests.exemption_request_create,
        name="exemption-request-create",
    ),
    path(
        "exemption-requests/<int:pk>/", exemption_requests.exemption_request_detail, name="exemption-request"
    ),
    path(
        "exemption-requests/<int:pk>/decide/",
        exemption_requests.exemption_request_decide,
        name="exemption-request-decide",
    ),
    path("governance/rules/", governance_rules.governance_rules, name="governance-rules"),
    path("people/", people.people, name="people"),
    path("people/save/", people.person_save, name="person-save"),
    path("people/teams/", people.team_create, name="team-create"),
    path("audit/", audit_log.audit_log, name="audit-log"),
]
