"""Persists the findings of Security Hub (ASFF) and Prowler (OCSF): every finding stored once (the same
report again changes nothing), matched to its machine and its account; the ones the catalog's mapping
table maps become evidence for the machine's recommendations, the others are listed, not scored.

Precedence as for Defender's export: a machine's own evidence (a scan, its agent's heartbeats or an
inventory's agent column) wins over a status a cloud tool reports; without it the tool's status stands.
"""

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.utils import timezone

from intake.persist.bulk import chunks
from intake.stages import Evaluations, Persisted
from posture.importers.records import CloudFindingRecord
from posture.matching import identifier_key
from posture.models import Resource, ResourceIdentifier, Subscription, resource_key
from recommendations.cloud_mappings import CLOUD_AGENT, mapping_for
from recommendations.evaluators.verdicts import (
    AGENTS,
    CLOUD_FINDINGS,
    DECIDED_CAUSES,
    EVIDENCE_SOURCES,
    OS_CONFIG,
)
from recommendations.models import Assessment, AssessmentStatus, CloudFinding, Recommendation

FIELDS = (
    "uid",
    "check_id",
    "title",
    "severity",
    "status",
    "cloud",
    "account_id",
    "resource_uid",
    "resource_type",
    "types",
    "observed_at",
    "resource_id",
    "subscription_id",
    "recommendation_id",
)
INSTANCE = re.compile(r"instance/(i-[0-9a-f]{8,17})$")
TOOLS = {"securityhub": "AWS Security Hub", "prowler": "Prowler"}


def finding_key(record: CloudFindingRecord, occurrence: int = 0) -> str:
    """A finding's identity: its uid, check and resource, and (for a report that repeats all three, as
    Prowler's anonymised samples do) which of the repeats it is, in the file's order."""
    text = f"{record.uid}\n{record.check_id}\n{record.resource_uid}" + (
        f"\n{occurrence}" if occurrence else ""
    )
    return hashlib.sha256(text.encode()).hexdigest()


def persist_cloud_findings(records: Iterable[CloudFindingRecord]) -> Persisted:
    counts: Counter[str] = Counter(
        findings_created=0, findings_changed=0, findings_unchanged=0, findings_mapped=0, findings_other=0
    )
    recommendations = {r.key: r.pk for r in Recommendation.objects.all()}
    machines: set[int] = set()
    occurrences: Counter[tuple[str, str, str, str]] = Counter()
    for chunk in chunks(records):
        keyed = []
        for record in chunk:
            identity = (record.tool, record.uid, record.check_id, record.resource_uid)
            keyed.append((record, (record.tool, finding_key(record, occurrences[identity]))))
            occurrences[identity] += 1
        resources = _resources(chunk)
        scopes = {
            (s.external_id or "").lower(): s.pk
            for s in Subscription.objects.filter(
                external_id__in={r.account_id for r in chunk if r.account_id}
            )
        }
        keys = {key for _, key in keyed}
        existing = {
            (f.tool, f.key): f
            for f in CloudFinding.objects.filter(key__in={k for _, k in keys}, tool__in={t for t, _ in keys})
        }
        to_create: list[CloudFinding] = []
        to_update: list[CloudFinding] = []
        for record, key in keyed:
            machine = resources.get(record.resource_uid.lower())
            mapping = mapping_for(record.tool, record.check_id, record.types) if machine else None
            recommendation = (
                recommendations.get(mapping.recommendation_for(machine.os)) if mapping and machine else None
            )
            counts["findings_mapped" if recommendation else "findings_other"] += 1
            if machine is None and record.account_id.lower() not in scopes:
                counts["findings_unmatched"] += 1
            values = {
                "uid": record.uid,
                "check_id": record.check_id,
                "title": record.title,
                "severity": record.severity,
                "status": record.status,
                "cloud": record.cloud,
                "account_id": record.account_id,
                "resource_uid": record.resource_uid,
                "resource_type": record.resource_type,
                "types": list(record.types),
                "observed_at": record.observed_at,
                "resource_id": machine.pk if machine else None,
                "subscription_id": machine.subscription_id
                if machine
                else scopes.get(record.account_id.lower()),
                "recommendation_id": recommendation,
            }
            current = existing.get(key)
            if current is None:
                to_create.append(CloudFinding(tool=record.tool, key=key[1], **values))
            elif any(getattr(current, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(current, name, value)
                to_update.append(current)
            else:
                counts["findings_unchanged"] += 1
            if machine is not None:
                machines.add(machine.pk)
        CloudFinding.objects.bulk_create(to_create)
        CloudFinding.objects.bulk_update(to_update, FIELDS)
        counts["findings_created"] += len(to_create)
        counts["findings_changed"] += len(to_update)
    changed = _write_evidence(machines)
    return Persisted(
        outcomes=[dict(counts)],
        evidence=changed,
        subscriptions=set(Resource.objects.filter(pk__in=changed).values_list("subscription_id", flat=True)),
        evaluations=Evaluations(os_configuration=machines, agents=machines),
    )


def _resources(records: list[CloudFindingRecord]) -> dict[str, Resource]:
    """The machines the findings name, by the name as given (lowercased): their resource id (an ARN,
    an Azure resource id), an ARN or self link another source gave, or the EC2 instance id in an ARN."""
    uids = {r.resource_uid.lower() for r in records}
    found = {
        r.resource_key: r for r in Resource.objects.filter(resource_key__in={resource_key(u) for u in uids})
    }
    by_uid = {uid: found[resource_key(uid)] for uid in uids if resource_key(uid) in found}
    wanted: dict[str, str] = {}
    for uid in uids - by_uid.keys():
        for kind in ("arn", "self_link", "gce_instance_id"):
            wanted[identifier_key(kind, uid)] = uid
        if instance := INSTANCE.search(uid):
            wanted[identifier_key("ec2_instance_id", instance.group(1))] = uid
    for identifier in ResourceIdentifier.objects.filter(key__in=wanted).select_related("resource"):
        by_uid.setdefault(wanted[identifier.key], identifier.resource)
    return by_uid


def _write_evidence(machines: set[int]) -> set[int]:
    """The mapped findings of these machines as their recommendations' statuses; returns the machines
    whose assessments changed."""
    failing: dict[tuple[int, int], list[CloudFinding]] = defaultdict(list)
    passing: dict[tuple[int, int], CloudFinding] = {}
    for finding in CloudFinding.objects.filter(
        resource_id__in=machines, recommendation__isnull=False
    ).select_related("recommendation"):
        assert finding.resource_id is not None
        assert finding.recommendation_id is not None
        pair = (finding.resource_id, finding.recommendation_id)
        if finding.status in ("failed", "warning"):
            failing[pair].append(finding)
        elif finding.status == "passed":
            passing[pair] = finding
    verdicts: dict[tuple[int, int], tuple[str, str]] = {}
    for pair, found in failing.items():
        verdicts[pair] = (AssessmentStatus.UNHEALTHY, _reason(found))
    for pair in passing.keys() - failing.keys():
        passed = passing[pair]
        mapping = mapping_for(passed.tool, passed.check_id, passed.types)
        # Being managed by the cloud's agent does not install Defender's: only a failure is evidence.
        if mapping is not None and mapping.meaning != CLOUD_AGENT:
            verdicts[pair] = (AssessmentStatus.HEALTHY, "")
    now = timezone.now()
    changed: set[int] = set()
    current = {
        (a.resource_id, a.recommendation_id): a
        for a in Assessment.objects.filter(resource_id__in=machines).select_related("recommendation")
    }
    to_create, to_update = [], []
    for (resource_id, recommendation_id), (status, reason) in verdicts.items():
        assessment = current.get((resource_id, recommendation_id))
        if assessment is None:
            to_create.append(
                Assessment(
                    resource_id=resource_id,
                    recommendation_id=recommendation_id,
                    status=status,
                    reason=reason,
                    first_evaluated=now,
                    status_changed=now,
                    source=CLOUD_FINDINGS,
                )
            )
            continue
        if (
            assessment.source in EVIDENCE_SOURCES
            or assessment.cause in DECIDED_CAUSES
            or assessment.held_status
        ):
            continue
        if (assessment.status, assessment.reason, assessment.source) == (status, reason, CLOUD_FINDINGS):
            continue
        if assessment.status != status:
            assessment.status_changed = now
        assessment.status, assessment.reason, assessment.source, assessment.cause = (
            status,
            reason,
            CLOUD_FINDINGS,
            "",
        )
        assessment.updated_at = now
        to_update.append(assessment)
    # A status a tool no longer supports (its finding passed, or went) returns to "no data": the
    # evaluators, which run next, say what the machine's own evidence says.
    for (resource_id, recommendation_id), assessment in current.items():
        if assessment.source == CLOUD_FINDINGS and (resource_id, recommendation_id) not in verdicts:
            agent = assessment.recommendation.key.startswith(("arc-", "vm-", "agent-"))
            sources = AGENTS if agent else OS_CONFIG
            assessment.status = AssessmentStatus.NOT_APPLICABLE
            assessment.reason = (
                "No agent data available for the machine"
                if agent
                else "No scan data available on the machine"
            )
            assessment.source = sources.no_evidence
            assessment.status_changed = assessment.updated_at = now
            to_update.append(assessment)
    Assessment.objects.bulk_create(to_create)
    Assessment.objects.bulk_update(
        to_update, ["status", "reason", "source", "cause", "status_changed", "updated_at"]
    )
    changed.update(a.resource_id for a in (*to_create, *to_update))
    return changed


def _reason(findings: list[CloudFinding]) -> str:
    tools = ", ".join(sorted({TOOLS.get(f.tool, f.tool) for f in findings}))
    checks = ", ".join(sorted({f.check_id for f in findings})[:3])
    mapping = mapping_for(findings[0].tool, findings[0].check_id, findings[0].types)
    if mapping is not None and mapping.meaning == CLOUD_AGENT:
        return (
            f"Not managed by {mapping.agent or 'its cloud agent'} ({tools}: {checks} failed): Defender's "
            "connector cannot onboard it to Azure Arc to install the agent"
        )
    plural = "s" if len(findings) != 1 else ""
    return f"{len(findings)} failed OS configuration check{plural} ({tools}: {checks})"
