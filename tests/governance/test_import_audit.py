"""Imports are in the audit log: uploads by people and agents, and files ingested from the command line."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

INVENTORY = Path(__file__).resolve().parent.parent / "fixtures" / "inventory" / "estate.csv"


def test_an_upload_is_recorded_with_who_and_what(admin_client, admin_user):
    upload = SimpleUploadedFile("estate.csv", INVENTORY.read_bytes(), content_type="text/csv")
    response = admin_client.post("/api/v1/imports/", {"file": upload})
    assert response.status_code in (201, 202)
    event = AuditEvent.objects.get(action="import")
    assert (event.actor, event.actor_name, event.object_type) == (
        admin_user,
        admin_user.username,
        "importjob",
    )
    assert event.summary == f"uploaded estate.csv ({INVENTORY.stat().st_size} bytes) for import"
    assert event.after is not None
    assert len(event.after["sha256"]) == 64


def test_the_ingest_command_records_each_file_and_its_outcome(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("resource_id,name\n")
    with pytest.raises(Exception, match="1 of 2 file"):
        call_command("ingest", str(INVENTORY), str(bad), stdout=StringIO())
    events = list(AuditEvent.objects.filter(action="import").order_by("pk"))
    assert [e.actor_name for e in events] == ["manage.py ingest", "manage.py ingest"]
    assert events[0].summary == f"{INVENTORY}: imported (inventory)"
    assert events[1].summary == f"{bad}: rejected (inventory)"
    assert events[1].after is not None
    assert "missing required column" in events[1].after["error"]
