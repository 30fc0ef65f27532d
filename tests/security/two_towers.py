"""Two towers, alpha and bravo, each with a lead, a member, a subscription, a machine and items, and a
machine they share; built once for the tower access probes (tests/security/test_tower_access.py).

Every row is built in one of three id ranges, so that a number tells whose it is:
- common rows (the catalog, the shared machine, the viewer, analyst and admin) keep the ids the
  database gives them, well below ALPHA_IDS;
- alpha's rows start at ALPHA_IDS in every table, bravo's at BRAVO_IDS: the first resource, finding,
  item, comment, team, subscription, group... of a tower all have the same id, so one id stands for an
  object of that tower whatever kind of object a route takes, and a bravo id showing in alpha's answers
  is a leak whichever table it came from;
- rows made while probing start at SCRATCH_IDS, and MISSING_ID is an id no table holds.
Names follow the same rule: everything of alpha's says "alpha", bravo's "bravo", nothing common says
either.

The shared machine shared-vm (subscription Common) is alpha's: alpha has its OS-configuration item. An
analyst gave one of its failed rules (ssh) to bravo, as an item of its own: both towers see the
machine, and each must read nothing of the other's item there. Alpha also has a scale set, whose
instances and their failed rules it sees through the scale set's item.
"""

from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from governance.api_tokens import issue_api_token
from governance.assignments import assign
from governance.exemption_requests import Ask, decide_request, request_exemption
from governance.models import (
    Assignment,
    AssignmentStatus,
    Comment,
    Exemption,
    ExemptionRequest,
    GovernanceRule,
    Team,
)
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from posture.agents import issue_token
from posture.models import ImportJob, Resource, ResourceKind, Subscription, SubscriptionGroup, Workspace
from recommendations.evaluators.os_config import MACHINE_KEY, SCALE_SET_KEY
from recommendations.models import Assessment, Benchmark, Finding, Recommendation, Rule
from scoring.models import Control
from tests.factories import make_resource, make_subscription, make_user
from tests.scans import scan_xccdf

ALPHA_IDS = 7_100_000
BRAVO_IDS = 8_200_000
MISSING_ID = 9_300_000
SCRATCH_IDS = 9_500_000
# How many ids of each tower's range the probes try as "another tower's object" (its first two rows
# of every table: the item on the shared machine and one on its own machine, its machine and the next
# one, its first findings, assessments, comments, subscription, group, team...).
PROBED_PER_TOWER = 2

SSH, DMESG = "sshd_disable_root_login", "sysctl_kernel_dmesg_restrict"
AUDIT, TELNET = "audit_rules_immutable", "package_telnet_removed"
# The kinds of objects routes take by id: each tower has one at the start of its range.
ROUTED_MODELS = (
    Resource,
    Assessment,
    Finding,
    Assignment,
    Comment,
    Subscription,
    SubscriptionGroup,
    Team,
    User,
    Exemption,
    ExemptionRequest,
    GovernanceRule,
    ImportJob,
)


@dataclass
class Tower:
    word: str  # "alpha": in every name of the tower's
    first_id: int
    team: Team
    lead: User
    member: User
    lead_token: str
    member_token: str
    subscription: Subscription
    group: SubscriptionGroup
    machine: Resource
    item_on_shared: Assignment  # alpha: the shared machine's item; bravo: its failed ssh rule's
    item_on_machine: Assignment
    assessment: Assessment  # the own machine's OS-configuration assessment (its item's)
    open_finding: Finding  # a failed rule of the own machine
    due_date: date  # the due date of its items on the shared machine, which nobody else has

    @property
    def probed_ids(self) -> list[int]:
        return [self.first_id + n for n in range(PROBED_PER_TOWER)]

    @property
    def member_email(self) -> str:
        return self.member.email


@dataclass
class Estate:
    alpha: Tower
    bravo: Tower
    viewer: User
    analyst: User
    admin: User
    nobody: User  # logged in, no role
    agent_token: str
    tokens: dict[str, str]  # username -> API token key (viewer, analyst, admin)
    shared: Resource
    common: Subscription
    control_id: int
    rule_id: int
    recommendation_key: str

    def towers(self) -> tuple[Tower, Tower]:
        return self.alpha, self.bravo

    def other(self, tower: Tower) -> Tower:
        return self.bravo if tower is self.alpha else self.alpha


def start_ids_at(first: int) -> None:
    """The next row of every table with an automatic id gets `first` (tables already past it go on)."""
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            pk = model._meta.pk
            if pk is None or pk.get_internal_type() not in ("AutoField", "BigAutoField", "SmallAutoField"):
                continue
            table, column = model._meta.db_table, pk.column
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)", [table, column, first]
                )
            else:
                cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first - 1, table])
                if cursor.rowcount == 0:
                    cursor.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, first - 1]
                    )


def os_config_item(
    resource: Resource, key: str, team: Team, owner: str, due: date, **fields: object
) -> Assignment:
    created = Assignment.objects.create(
        assessment=Assessment.objects.get(resource=resource, recommendation__key=key),
        team=team,
        owner=owner,
        first_detected=timezone.now(),
        due_date=due,
        **fields,
    )
    refresh_tower_summaries([created.assessment.resource_id])
    return created


def _people(word: str, first_id: int) -> tuple[Team, User, User]:
    team = Team.objects.create(name=f"{word}-tower")
    lead = make_user(f"{word}-lead", role=Role.LEAD, team=team, email=f"{word}-lead@{word}.example")
    member = make_user(f"{word}-member", role=Role.MEMBER, team=team, email=f"{word}-member@{word}.example")
    assert team.pk == lead.pk == first_id, "the tower's rows must start its id range"
    return team, lead, member


def _analysts_objects(word: str, tower: Tower, analyst: User, priority: int) -> None:
    """What only analysts see of a tower: an exemption (of a recommendation its machine has no
    assessment of: it changes no status), an import job, a governance rule (inactive: later imports
    assign nothing by it)."""
    Exemption.objects.create(
        recommendation=Recommendation.objects.get(key=SCALE_SET_KEY),
        resource=tower.machine,
        category="waiver",
        justification=f"{word} waiver",
        created_by=analyst,
    )
    ImportJob.objects.create(original_name=f"{word}-scan.xml", size=1, sha256=(word * 64)[:64])
    GovernanceRule.objects.create(
        name=f"{word} rule", priority=priority, active=False, team=tower.team, tag_key="tower", tag_value=word
    )


def _requests(word: str, tower: Tower, analyst: User) -> None:
    """The tower's exemption requests: a pending one for its item on the shared machine (the first id
    of its range), and a rejected one for its own machine's item (which may be asked for again)."""
    kind = "waiver" if tower.item_on_shared.finding_id is None else "risk_accepted"
    until = date(2027, 3, 31)
    request_exemption(user=tower.lead, items=[tower.item_on_shared], ask=Ask(kind, f"{word} pending", until))
    rejected = request_exemption(
        user=tower.member, items=[tower.item_on_machine], ask=Ask("risk_accepted", f"{word} asked", until)
    )
    decide_request(user=analyst, request=rejected, approve=False, note=f"{word} must fix it")
    assert ExemptionRequest.objects.filter(pk=tower.first_id).exists()


def build_alpha(shared: Resource, analyst: User) -> Tower:
    start_ids_at(ALPHA_IDS)
    team, lead, member = _people("alpha", ALPHA_IDS)
    subscription = make_subscription("alpha-sub", external_id="alpha-sub-id")
    group = SubscriptionGroup.objects.create(name="alpha-group")
    group.subscriptions.add(subscription)
    tags = {"tower": "alpha"}
    machine = make_resource(subscription, name="alpha-vm", resource_group="rg-alpha", tags=tags)
    scale_set = make_resource(
        subscription, name="alpha-vmss", kind=ResourceKind.VMSS, resource_group="rg-alpha", tags=tags
    )
    for n in range(2):
        make_resource(
            subscription, name=f"alpha-vmss_{n}", kind=ResourceKind.VMSS_INSTANCE, parent=scale_set, tags=tags
        )
    scan_xccdf("alpha-vm", {SSH: "fail", AUDIT: "fail", DMESG: "pass"})
    for n in range(2):
        scan_xccdf(f"alpha-vmss_{n}", {TELNET: "fail"})
    due = date(2027, 1, 11)
    on_shared = os_config_item(
        shared, MACHINE_KEY, team, lead.email, due, status=AssignmentStatus.IN_PROGRESS
    )
    on_machine = os_config_item(machine, MACHINE_KEY, team, member.email, date(2027, 1, 12))
    os_config_item(scale_set, SCALE_SET_KEY, team, member.email, date(2027, 1, 13))
    Comment.objects.create(assignment=on_shared, author=lead, text="alpha note on the shared machine")
    tower = Tower(
        word="alpha",
        first_id=ALPHA_IDS,
        team=team,
        lead=lead,
        member=member,
        lead_token=issue_api_token(user=lead).key,
        member_token=issue_api_token(user=member).key,
        subscription=subscription,
        group=group,
        machine=machine,
        item_on_shared=on_shared,
        item_on_machine=on_machine,
        assessment=on_machine.assessment,
        open_finding=Finding.objects.get(resource=machine, rule__rule_id__endswith=SSH),
        due_date=due,
    )
    _analysts_objects("alpha", tower, analyst, priority=10)
    _requests("alpha", tower, analyst)
    return tower


def build_bravo(shared: Resource, analyst: User) -> Tower:
    start_ids_at(BRAVO_IDS)
    team, lead, member = _people("bravo", BRAVO_IDS)
    subscription = make_subscription("bravo-sub", external_id="bravo-sub-id")
    group = SubscriptionGroup.objects.create(name="bravo-group")
    group.subscriptions.add(subscription)
    machine = make_resource(subscription, name="bravo-vm", resource_group="rg-bravo", tags={"tower": "bravo"})
    scan_xccdf("bravo-vm", {SSH: "fail", TELNET: "fail", DMESG: "pass"})
    due = date(2027, 2, 22)
    # Bravo's first item: one failed rule of the machine alpha holds, given to bravo by an analyst.
    shared_item = Assignment.objects.get(assessment__resource=shared, finding__isnull=True)
    on_shared = assign(
        user=analyst,
        assessment=shared_item.assessment,
        finding=Finding.objects.get(resource=shared, rule__rule_id__endswith=SSH),
        team=team,
        owner=lead.email,
        due=due,
    )
    on_machine = os_config_item(machine, MACHINE_KEY, team, member.email, date(2027, 2, 23))
    Comment.objects.create(assignment=on_shared, author=lead, text="bravo note on the shared machine")
    tower = Tower(
        word="bravo",
        first_id=BRAVO_IDS,
        team=team,
        lead=lead,
        member=member,
        lead_token=issue_api_token(user=lead).key,
        member_token=issue_api_token(user=member).key,
        subscription=subscription,
        group=group,
        machine=machine,
        item_on_shared=on_shared,
        item_on_machine=on_machine,
        assessment=on_machine.assessment,
        open_finding=Finding.objects.get(resource=machine, rule__rule_id__endswith=SSH),
        due_date=due,
    )
    _analysts_objects("bravo", tower, analyst, priority=20)
    _requests("bravo", tower, analyst)
    return tower


def build_estate() -> Estate:
    common = make_subscription("Common", external_id="common-sub-id")
    viewer = make_user("viewer", role=Role.VIEWER, email="viewer@example.com")
    analyst = make_user("analyst", role=Role.ANALYST, email="analyst@example.com")
    admin = make_user("admin", role=Role.ADMIN, email="admin@example.com")
    nobody = make_user("nobody", role=None)
    shared = make_resource(common, name="shared-vm", resource_group="rg-common", tags={"env": "prod"})
    # Every rule any machine fails or passes, into the catalog before the towers (the catalog is common).
    scan_xccdf("shared-vm", {SSH: "fail", DMESG: "fail", AUDIT: "pass", TELNET: "pass"})
    everything = SubscriptionGroup.objects.create(name="all-group")
    workspace = Workspace.objects.create(name="Main", workspace_id="ws-main")
    agent_token = issue_token(workspace=workspace).token
    tokens = {user.username: issue_api_token(user=user).key for user in (viewer, analyst, admin)}
    alpha = build_alpha(shared, analyst)
    bravo = build_bravo(shared, analyst)
    everything.subscriptions.add(common, alpha.subscription, bravo.subscription)
    start_ids_at(SCRATCH_IDS)
    for tower in (alpha, bravo):
        for model in ROUTED_MODELS:
            assert model._default_manager.filter(pk=tower.first_id).exists(), (tower.word, model.__name__)
    for catalog in (Rule, Benchmark, Recommendation, Control):
        assert not catalog._default_manager.filter(pk__gte=ALPHA_IDS).exists(), f"a tower made a {catalog}"
    return Estate(
        alpha=alpha,
        bravo=bravo,
        viewer=viewer,
        analyst=analyst,
        admin=admin,
        nobody=nobody,
        agent_token=agent_token,
        tokens=tokens,
        shared=shared,
        common=common,
        control_id=Control.objects.order_by("pk").values_list("pk", flat=True)[0],
        rule_id=Rule.objects.get(rule_id__endswith=SSH).pk,
        recommendation_key=MACHINE_KEY,
    )
