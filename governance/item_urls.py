"""URL patterns of assigned items and the governance report (governance/item_views.py)."""

from django.urls import path

from governance import item_views

urlpatterns = [
    path("my-items/", item_views.my_items, name="my-items"),
    path("items/bulk/", item_views.items_bulk, name="items-bulk"),
    path("items/<int:pk>/", item_views.item_detail, name="item"),
    path("items/<int:pk>/update/", item_views.item_update, name="item-update"),
    path("assign/", item_views.assign_item, name="assign"),
    path("governance/report/", item_views.report, name="governance-report"),
]
