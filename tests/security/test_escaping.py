"""Text from scan files is escaped wherever it is shown. Real-shaped files (the inventory CSV, a Defender
export, an XCCDF result, a SecurityBaseline export and a kubectl dump, from tests/fixtures and
tests/scap_builder.py) carry `<svg onload=alert(1)>` and an attribute breaker in names, titles,
descriptions, reasons and values; they go through the importers, and every page, audit view and admin
page showing them must hold the escaped text and never an element or handler made of it."""

import copy
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from django.test import Client
from lxml import html as lxml_html

from governance.assignments import assign
from governance.models import Assignment
from governance.roles import Role
from intake.jobs import submit_upload
from intake.pipeline import ingest_stream
from posture.models import Resource
from recommendations.models import Assessment, AssessmentStatus, Finding, Rule
from tests.factories import make_user
from tests.scans import T1, XSS, baseline_row
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Breaks out of a double-quoted attribute if it is not escaped there.
QUOTE = '" onmouseover="alert(2)'
HOSTILE = f"{XSS}{QUOTE}"
ESCAPED = "&lt;svg onload=alert(1)&gt;"
SUB = "/subscriptions/3f2a9c1e-0000-4000-8000-00000000a001/resourceGroups/prod-web/providers"
VM_ID = f"{SUB}/Microsoft.Compute/virtualMachines/hostile-vm"
CLUSTER_ID = f"{SUB}/Microsoft.ContainerService/managedClusters/hostile-aks"
# Known from the Defender export only, so Defender's verdict and reason stand (no scan overrides them).
DEFENDER_VM_ID = f"{SUB}/Microsoft.Compute/virtualMachines/defender-only"
SSH_RULE = "sshd_disable_root_login"


def ingest(document: bytes | str, file_format: str, **options: str) -> None:
    data = document.encode() if isinstance(document, str) else document
    ingest_stream(io.BytesIO(data), file_format=file_format, **options)


def inventory_csv() -> str:
    # The real inventory, plus a machine and a cluster whose names and tags are hostile.
    text = (FIXTURES / "inventory" / "estate.csv").read_text()
    header = next(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    blank = dict.fromkeys(header, "")
    common = {"subscription": "Production", "resource_group": "prod-web", "power_state": "running"}
    machine = {"resource_id": VM_ID, "name": HOSTILE, "kind": "vm", "os": "linux", "tags": f"owner={XSS}"}
    cluster = {"resource_id": CLUSTER_ID, "name": f"aks {XSS}", "kind": "k8s_cluster"}
    writer.writerow({**blank, **common, **machine})
    writer.writerow({**blank, **common, **cluster})
    return text + out.getvalue()


def defender_export() -> str:
    # A real Unhealthy record of the export (security configuration), moved onto a machine of its own
    # with a hostile reason.
    export = json.loads((FIXTURES / "defender" / "arg-assessments.json").read_text())
    record = copy.deepcopy(export["data"][1])
    record["id"] = f"{DEFENDER_VM_ID}/providers/Microsoft.Security/assessments/{record['name']}"
    record["properties"]["resourceDetails"]["Id"] = DEFENDER_VM_ID
    record["properties"]["status"].update({"code": "Unhealthy", "cause": HOSTILE, "description": HOSTILE})
    export["data"] = [record]
    export["count"] = 1
    return json.dumps(export)


def xccdf_scan() -> bytes:
    document = xccdf_result(
        host=HOSTILE,
        results={SSH_RULE: "fail"},
        when=T1,
        titles={SSH_RULE: HOSTILE},
        cces={SSH_RULE: "CCE-1"},
    ).decode()
    # The builder writes a plain description and fix text: make them hostile too.
    document = document.replace(
        f"<description>Checks {SSH_RULE}.</description>", f"<description>{escape(HOSTILE)}</description>"
    )
    document = document.replace(
        f"<fixtext>Fix {SSH_RULE}.</fixtext>", f"<fixtext>{escape(HOSTILE)}</fixtext>"
    )
    return document.encode()


def baseline_export() -> str:
    row = baseline_row(
        f"win {XSS}", "CCE-37615-2", "Failed", ActualResult=HOSTILE, Description=HOSTILE, RuleSetting=HOSTILE
    )
    return json.dumps([row])


def kubernetes_dump() -> str:
    # The real kind cluster's dump, named for the hostile cluster, its wiki pod running a hostile profile.
    dump = json.loads((FIXTURES / "kubernetes" / "lab-kind.wrapped.json").read_text())
    dump["cluster"] = CLUSTER_ID
    for item in dump["list"]["items"]:
        if item["kind"] == "Pod" and item["metadata"].get("namespace") == "wiki":
            annotations = item["metadata"].setdefault("annotations", {})
            annotations["container.apparmor.security.beta.kubernetes.io/wiki"] = HOSTILE
    return json.dumps(dump)


@dataclass
class Estate:
    client: Client
    machine: Resource
    defender_only: Resource
    cluster: Resource
    windows: Resource
    rule: Rule
    item: Assignment


@pytest.fixture
def hostile(client: Client, tmp_path, settings) -> Estate:
    settings.POSTURE_UPLOAD_DIR = str(tmp_path / "uploads")
    ingest(inventory_csv(), "inventory")
    ingest(defender_export(), "defender")
    ingest(xccdf_scan(), "scap")
    ingest(baseline_export(), "securitybaseline")
    ingest(kubernetes_dump(), "kubernetes")
    # An upload and a failed login with hostile names reach the audit log.
    submit_upload(chunks=[b"<x/>"], name=f"{HOSTILE}.xml", user=None)
    client.post("/accounts/login/", {"username": HOSTILE, "password": "wrong"})
    boss = make_user("boss", role=Role.ADMIN)
    client.force_login(boss)
    machine = Resource.objects.get(resource_id__iexact=VM_ID)
    # An item for the hostile machine's failed rule, so My items and the item page name both.
    finding = Finding.objects.get(resource=machine, rule__title=HOSTILE)
    unhealthy = Assessment.objects.filter(resource=machine, status=AssessmentStatus.UNHEALTHY).first()
    assert unhealthy is not None
    item = assign(user=boss, assessment=unhealthy, team=None, owner="boss@example.com", finding=finding)
    return Estate(
        client=client,
        machine=machine,
        defender_only=Resource.objects.get(resource_id__iexact=DEFENDER_VM_ID),
        cluster=Resource.objects.get(resource_id__iexact=CLUSTER_ID),
        windows=Resource.objects.get(name=f"win {XSS}"),
        # The XCCDF rule (imported before the SecurityBaseline one, whose title is hostile as well).
        rule=Rule.objects.filter(title=HOSTILE).earliest("pk"),
        item=item,
    )


def assert_escaped(client: Client, path: str, *, shows: bool = True) -> None:
    response = client.get(path)
    assert response.status_code == 200, path
    page = response.content.decode()
    assert XSS not in page, path
    assert QUOTE not in page, path
    if shows:
        assert ESCAPED in page, f"{path} does not show the hostile text at all"
    # No element carries a handler (the admin's own icons are SVG, so the element alone proves nothing).
    tree = lxml_html.fromstring(page)
    handlers = [
        str(name) for element in tree.iter() for name in element.attrib if str(name).lower().startswith("on")
    ]
    assert handlers == [], path


def test_the_hostile_texts_were_imported_as_they_are(hostile: Estate):
    # Otherwise the page checks below would prove nothing.
    assert hostile.machine.name == HOSTILE
    assert hostile.rule.title == HOSTILE
    assert HOSTILE in hostile.rule.description
    assert Assessment.objects.filter(resource=hostile.defender_only, reason__contains=HOSTILE).exists()
    assert Assessment.objects.filter(resource=hostile.cluster, reason__contains=XSS).exists()


def test_pages_escape_what_scan_files_said(hostile: Estate):
    unhealthy_keys = (
        Assessment.objects.filter(
            resource__in=[hostile.machine, hostile.defender_only, hostile.cluster],
            status=AssessmentStatus.UNHEALTHY,
        )
        .values_list("recommendation__key", flat=True)
        .distinct()
    )
    paths = [
        f"/resources/{hostile.machine.pk}/",
        f"/resources/{hostile.defender_only.pk}/",
        f"/resources/{hostile.cluster.pk}/",
        f"/resources/{hostile.windows.pk}/",
        "/resources/?q=svg",
        f"/rules/{hostile.rule.pk}/",
        "/os-configuration/",
        "/baseline/?q=svg",  # page 1 of the whole catalog holds the published baselines first
        *[f"/recommendations/{key}/" for key in unhealthy_keys],
        "/my-items/",
        f"/items/{hostile.item.pk}/",
        "/audit/",
        "/imports/",
    ]
    assert len(paths) > 12
    for path in paths:
        assert_escaped(hostile.client, path)
    # Pages that show the text only in counts or charts must still hold no element made of it.
    for path in ["/", "/governance/report/", "/subscriptions/"]:
        assert_escaped(hostile.client, path, shows=False)


def test_the_admin_site_escapes_them_too(hostile: Estate):
    assessment = Assessment.objects.filter(resource=hostile.defender_only, reason__contains=HOSTILE).first()
    assert assessment is not None
    for path in [
        "/admin/posture/resource/",
        f"/admin/posture/resource/{hostile.machine.pk}/change/",
        "/admin/recommendations/assessment/",
        f"/admin/recommendations/assessment/{assessment.pk}/change/",
        "/admin/audit/auditevent/",
        "/admin/governance/assignment/",
        f"/admin/governance/assignment/{hostile.item.pk}/change/",
        "/admin/axes/accessattempt/",
    ]:
        assert_escaped(hostile.client, path)
