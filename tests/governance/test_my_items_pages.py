"""My items in pages: the items in the page's order (due group, recommendation, due date), the counts of
every page on each page, a due group on another page linked, bulk actions on a page's selection."""

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client

from governance.models import Assignment, AssignmentStatus
from tests.governance.test_items import NOON, TODAY, Estate, client_for, estate, make_item
from web.pages import items as item_views

pytestmark = pytest.mark.django_db

__all__ = ["estate"]  # the fixture, used by name

PAGE = 4


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(item_views, "MY_ITEMS_PAGE_SIZE", PAGE)


@pytest.fixture(autouse=True)
def noon() -> Iterator[None]:
    with time_machine.travel(NOON, tick=False):
        yield


def shown_items(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="item" value="(\d+)"', html)]


def count_of(html: str, group: str) -> int:
    found = re.search(rf'<h2 id="due-{group}">[^<]*<span class="tab-count">(\d+)</span>', html)
    assert found, f"no {group} heading"
    return int(found.group(1))


def items(estate: Estate, due: date, n: int, recommendation: str) -> list[Assignment]:
    return [make_item(estate.linux, due, recommendation=recommendation) for _ in range(n)]


def test_pages_go_on_in_the_order_of_the_groups_and_each_shows_the_totals(estate: Estate) -> None:
    # Made out of order: later first, then this week's B before A, then the overdue ones.
    later = items(estate, TODAY + timedelta(days=30), 3, "Patch")
    week_b = items(estate, TODAY + timedelta(days=1), 2, "B recommendation")
    week_a = items(estate, TODAY + timedelta(days=3), 2, "A recommendation")
    overdue = items(estate, TODAY - timedelta(days=2), 2, "Patch")
    make_item(estate.linux, TODAY, status=AssignmentStatus.RESOLVED)  # not open: on no page
    client = client_for(estate.lin_lead)

    pages = [client.get("/my-items/", {"page": n}).content.decode() for n in (1, 2, 3)]

    in_order = [item.pk for item in overdue + week_a + week_b + later]
    assert [shown_items(page) for page in pages] == [in_order[0:4], in_order[4:8], in_order[8:9]]
    for page in pages:
        assert (count_of(page, "overdue"), count_of(page, "week"), count_of(page, "later")) == (2, 4, 3)
        assert "open items (Open or In progress): 9," in page
    # Page 2 holds two of the three later items: the recommendation counts three, the page says so.
    assert "2 on this page" in pages[1]
    # Page 3 has only a later item: the overdue group links back to its page.
    assert 'href="?page=1">from page 1</a>' in pages[2]
    assert "Page 3 of 3" in pages[2]


def test_a_bulk_action_changes_the_selected_items_of_a_page_and_comes_back_to_it(estate: Estate) -> None:
    all_items = items(estate, TODAY + timedelta(days=10), PAGE + 2, "Patch")
    client: Client = client_for(estate.lin_lead)
    second_page = shown_items(client.get("/my-items/", {"page": 2}).content.decode())
    assert second_page == [item.pk for item in all_items[PAGE:]]

    response = client.post(
        "/items/bulk/",
        {"item": [str(second_page[0])], "action": "status", "status": "in_progress", "page": "2"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/my-items/?page=2"
    statuses = dict(Assignment.objects.values_list("pk", "status"))
    assert statuses[second_page[0]] == AssignmentStatus.IN_PROGRESS
    assert [pk for pk, status in statuses.items() if status == AssignmentStatus.IN_PROGRESS] == [
        second_page[0]
    ]


def test_a_page_out_of_range_shows_the_last_and_a_bad_page_number_the_first(estate: Estate) -> None:
    all_items = items(estate, TODAY + timedelta(days=10), PAGE + 1, "Patch")
    client = client_for(estate.lin_lead)

    assert shown_items(client.get("/my-items/", {"page": 99}).content.decode()) == [all_items[-1].pk]
    assert shown_items(client.get("/my-items/", {"page": "x"}).content.decode()) == [
        item.pk for item in all_items[:PAGE]
    ]
