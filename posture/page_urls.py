"""URL patterns of the estate's pages: resources, imports, and the agent's install commands and files."""

from django.urls import path

from posture import agent_files, import_views, install_views, subscription_views, views

urlpatterns = [
    path("agent/<str:name>", agent_files.agent_file, name="agent-file"),
    path("agents/install-commands/", install_views.agent_install_commands, name="agent-install-commands"),
    path("subscriptions/", subscription_views.subscription_list, name="subscriptions"),
    path(
        "subscriptions/<int:pk>/auto-provisioning/",
        subscription_views.auto_provisioning,
        name="auto-provisioning",
    ),
    path("subscriptions/groups/", subscription_views.group_create, name="subscription-group-create"),
    path("subscriptions/groups/<int:pk>/", subscription_views.group_change, name="subscription-group-change"),
    path(
        "subscriptions/groups/<int:pk>/delete/",
        subscription_views.group_delete,
        name="subscription-group-delete",
    ),
    path("resources/", views.resource_list, name="resource-list"),
    path("resources/<int:pk>/", views.resource_detail, name="resource"),
    path("imports/", import_views.import_list, name="imports"),
    path("imports/<int:pk>/", import_views.import_detail, name="import"),
]
