"""Evaluates the two Kubernetes recommendations from the latest `kubectl` dump of each cluster.

- *Azure Policy add-on / Gatekeeper installed and enabled*: Healthy when a Gatekeeper controller
  Deployment has a ready replica and no add-on Deployment found is down; a Deployment with fewer ready
  replicas than wanted is named in the reason but, since one ready replica serves the admission webhook,
  does not make the cluster Unhealthy.
- *Overriding or disabling of containers AppArmor profile should be restricted*: Unhealthy when a
  container outside the excluded namespaces runs unconfined or with a profile outside the allowed list.
- Not applicable ("No cluster data available") for a cluster no dump was imported for.

Dump evidence wins over a status imported from Defender; without it an imported status stays.
"""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber

from posture.models import Resource, ResourceKind
from recommendations.evaluators.verdicts import KUBERNETES, Verdict, store_verdicts
from recommendations.models import (
    AppArmorViolation,
    AssessmentStatus,
    ClusterSnapshot,
)

POLICY_KEY = "k8s-policy-addon"
APPARMOR_KEY = "k8s-apparmor-restricted"
NO_DUMP = "No cluster data available"
SOURCES = KUBERNETES
# (namespace, Deployment): OPA Gatekeeper's controller, which the AKS add-on and the Arc extension deploy
# too (some add-on versions name it gatekeeper-controller), and the add-on's own Deployments, in
# kube-system on AKS and in azure-arc on Arc-enabled clusters.
GATEKEEPER_CONTROLLERS = (
    ("gatekeeper-system", "gatekeeper-controller-manager"),
    ("gatekeeper-system", "gatekeeper-controller"),
)
ADDON_DEPLOYMENTS = (
    ("kube-system", "azure-policy"),
    ("kube-system", "azure-policy-webhook"),
    ("azure-arc", "azure-policy"),
    ("azure-arc", "azure-policy-webhook"),
)
POLICY_DEPLOYMENTS = frozenset(GATEKEEPER_CONTROLLERS + ADDON_DEPLOYMENTS)
UNCONFINED = "unconfined"
# How many offending containers an Unhealthy reason names.
NAMED_IN_REASON = 3


def is_excluded_namespace(namespace: str) -> bool:
    return namespace in settings.POSTURE_K8S_EXCLUDED_NAMESPACES


def is_allowed_profile(profile: str) -> bool:
    """Whether an AppArmor profile (annotation syntax) is allowed; unconfined never is."""
    if profile == UNCONFINED:
        return False
    for allowed in settings.POSTURE_K8S_ALLOWED_APPARMOR:
        if profile == allowed or (allowed.endswith("*") and profile.startswith(allowed[:-1])):
            return True
    return False


def is_apparmor_violation(namespace: str, profile: str) -> bool:
    """A container with this profile in this namespace makes the AppArmor recommendation Unhealthy.

    No profile at all ("") means the container runtime's default one: nothing was overridden.
    """
    return bool(profile) and not is_excluded_namespace(namespace) and not is_allowed_profile(profile)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _names(keys: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{namespace}/{name}" for namespace, name in keys)


def policy_verdict(workloads: list[dict[str, Any]]) -> Verdict:
    """The add-on recommendation from a dump's policy Deployments ({namespace, name, replicas, ready})."""
    found = {
        (w["namespace"], w["name"]): w for w in workloads if (w["namespace"], w["name"]) in POLICY_DEPLOYMENTS
    }
    if not any(key in found for key in GATEKEEPER_CONTROLLERS):
        if found:
            reason = (
                f"no Gatekeeper controller found (looked for {_names(GATEKEEPER_CONTROLLERS)}); "
                f"found only {_names(found)}"
            )
        else:
            reason = (
                "no policy add-on or Gatekeeper controller found "
                f"(looked for Deployments {_names(GATEKEEPER_CONTROLLERS + ADDON_DEPLOYMENTS)})"
            )
        return Verdict(AssessmentStatus.UNHEALTHY, reason, True)
    short = [
        f"{namespace}/{name}: {w['ready']} of {_plural(w['replicas'], 'replica')} ready"
        for (namespace, name), w in sorted(found.items())
        if w["ready"] < max(w["replicas"], 1)
    ]
    down = any(w["ready"] < 1 for w in found.values())
    return Verdict(AssessmentStatus.UNHEALTHY if down else AssessmentStatus.HEALTHY, "; ".join(short), True)


def apparmor_verdict(count: int, first: list[AppArmorViolation]) -> Verdict:
    if not count:
        return Verdict(AssessmentStatus.HEALTHY, "", True)
    runs = "runs with an AppArmor profile" if count == 1 else "run with AppArmor profiles"
    named = "; ".join(
        f"{v.namespace}/{v.workload_kind}/{v.workload_name} container {v.container}: {v.profile}"
        for v in first
    )
    more = f"; and {count - len(first)} more" if count > len(first) else ""
    return Verdict(
        AssessmentStatus.UNHEALTHY,
        f"{_plural(count, 'container')} {runs} outside the allowed list: {named}{more}",
        True,
    )


def evaluate_kubernetes(resource_ids: Iterable[int]) -> set[int]:
    """Re-evaluate the Kubernetes clusters among the resources given from their stored dump evidence;
    returns the clusters whose assessments changed."""
    clusters = list(
        Resource.objects.filter(pk__in=list(resource_ids), kind=ResourceKind.K8S_CLUSTER).values_list(
            "id", flat=True
        )
    )
    if not clusters:
        return set()
    snapshots = dict(
        ClusterSnapshot.objects.filter(cluster_id__in=clusters).values_list("cluster_id", "policy_workloads")
    )
    counts = dict(
        AppArmorViolation.objects.filter(cluster_id__in=list(snapshots))
        .values("cluster_id")
        .annotate(total=Count("id"))
        .values_list("cluster_id", "total")
    )
    first = _first_violations(list(counts))
    verdicts: dict[tuple[int, str], Verdict] = {}
    for cluster in clusters:
        if cluster not in snapshots:
            verdicts[(cluster, POLICY_KEY)] = Verdict(AssessmentStatus.NOT_APPLICABLE, NO_DUMP, False)
            verdicts[(cluster, APPARMOR_KEY)] = Verdict(AssessmentStatus.NOT_APPLICABLE, NO_DUMP, False)
            continue
        verdicts[(cluster, POLICY_KEY)] = policy_verdict(snapshots[cluster])
        verdicts[(cluster, APPARMOR_KEY)] = apparmor_verdict(counts.get(cluster, 0), first.get(cluster, []))
    return store_verdicts(verdicts, SOURCES)


def _first_violations(clusters: list[int]) -> dict[int, list[AppArmorViolation]]:
    """The first few violations of each cluster, in the model's order, in one query."""
    if not clusters:
        return {}
    order = [F(name) for name in ("namespace", "workload_kind", "workload_name", "container")]
    ranked = (
        AppArmorViolation.objects.filter(cluster_id__in=clusters)
        .annotate(position=Window(RowNumber(), partition_by=[F("cluster_id")], order_by=order))
        .filter(position__lte=NAMED_IN_REASON)
        .order_by("cluster_id", "position")
    )
    first: dict[int, list[AppArmorViolation]] = {}
    for violation in ranked:
        first.setdefault(violation.cluster_id, []).append(violation)
    return first
