"""The lengths the importers check records against are the lengths of the columns the values land in."""

from django.db import models

from posture.importers.limits import LIMITS
from posture.models import Resource, ResourceIdentifier, Subscription
from recommendations.models import AppArmorViolation, Assessment, Benchmark, CloudFinding, Rule, Scan

# Record type -> attribute -> the column its value is stored in.
STORED_IN: dict[str, dict[str, tuple[type[models.Model], str]]] = {
    "BenchmarkRecord": {
        "benchmark_id": (Benchmark, "benchmark_id"),
        "version": (Benchmark, "version"),
        "title": (Benchmark, "title"),
    },
    "RuleRecord": {"rule_id": (Rule, "key"), "cce": (Rule, "cce"), "rule_type": (Rule, "rule_type")},
    "RuleResultRecord": {"rule_id": (Rule, "key"), "cce": (Rule, "cce")},
    "ScanRecord": {
        "hostname": (Resource, "name"),
        "fqdn": (Scan, "target_fqdn"),
        "os_name": (Scan, "target_os"),
        "profile_id": (Scan, "profile_id"),
        "profile_title": (Scan, "profile_title"),
        "resource_id": (Resource, "resource_id"),
    },
    "ResourceRecord": {
        "resource_id": (Resource, "resource_id"),
        "name": (Resource, "name"),
        "subscription": (Subscription, "name"),
        "resource_group": (Resource, "resource_group"),
        "parent_id": (Resource, "resource_id"),
        "agent_version": (Resource, "agent_version"),
        "workspace_id": (Resource, "workspace_id"),
    },
    "AssessmentRecord": {
        "resource_id": (Resource, "resource_id"),
        "subscription_id": (Subscription, "name"),
        "subscription_name": (Subscription, "name"),
        "resource_group": (Resource, "resource_group"),
        "cause": (Assessment, "cause"),
    },
    "CloudMachineRecord": {
        "resource_id": (Resource, "resource_id"),
        "name": (Resource, "name"),
        "account_id": (Subscription, "name"),
        "native_id": (ResourceIdentifier, "value"),
    },
    "CloudFindingRecord": {
        name: (CloudFinding, name)
        for name in (
            "uid",
            "check_id",
            "title",
            "severity",
            "account_id",
            "resource_uid",
            "resource_type",
            "observed_at",
        )
    },
    "ContainerProfile": {
        "namespace": (AppArmorViolation, "namespace"),
        "workload_name": (AppArmorViolation, "workload_name"),
        "owner": (AppArmorViolation, "owner"),
        "container": (AppArmorViolation, "container"),
        "profile": (AppArmorViolation, "profile"),
    },
}


def test_every_checked_length_is_its_columns_max_length() -> None:
    checked = {(record, name): length for record, limits in LIMITS.items() for name, length in limits.items()}
    columns = {
        (record, name): model._meta.get_field(field).max_length  # type: ignore[union-attr]
        for record, stored in STORED_IN.items()
        for name, (model, field) in stored.items()
    }
    assert checked == columns
