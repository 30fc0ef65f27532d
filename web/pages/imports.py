"""The upload page (a form and the recent import jobs) and one job's page with its live progress."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from intake.jobs import UploadTooLarge, submit_upload
from intake.tasks import run_import
from posture.errors import UserError
from posture.importers.detect import FORMATS
from posture.models import ImportJob, ImportStatus, Resource, resource_key
from posture.scope import Scope
from web.api.imports import job_document, upload_too_large
from web.pages.rendering import paginate, render_page, render_user_error, scope_of, scope_query, scoped

FORMAT_LABELS = {
    "inventory": "Inventory (CSV)",
    "defender": "Defender assessments (Resource Graph JSON)",
    "scap": "OpenSCAP results (ARF or XCCDF)",
    "securitybaseline": "Defender SecurityBaseline export (CSV or JSON)",
    "kubernetes": "Kubernetes objects (kubectl get -o json)",
    "aws-ec2": "AWS EC2 instances (aws ec2 describe-instances)",
    "aws-ssm": "AWS SSM managed instances (aws ssm describe-instance-information)",
    "gcp-compute": "GCP Compute Engine instances (gcloud compute instances list --format=json)",
    "asff": "AWS Security Hub findings (ASFF: aws securityhub get-findings)",
    "prowler-ocsf": "Prowler findings (OCSF JSON)",
    "defender-score": "Defender secure score and controls (Resource Graph or REST JSON)",
}
POLL_MILLISECONDS = 500


def _format_choices() -> list[tuple[str, str]]:
    return [("", "Detect from the content"), *((name, FORMAT_LABELS.get(name, name)) for name in FORMATS)]


class UploadForm(forms.Form):
    file = forms.FileField(error_messages={"required": "choose a file to upload"})
    format = forms.ChoiceField(
        choices=_format_choices,
        required=False,
        error_messages={"invalid_choice": f"unknown format %(value)r; one of: {', '.join(FORMATS)}"},
    )
    resource = forms.CharField(
        label="Resource id",
        required=False,
        max_length=1000,
        help_text="Optional: the resource id a scan describes, when its host name does not match one.",
    )

    def clean_resource(self) -> str:
        value = str(self.cleaned_data.get("resource", ""))
        if "\x00" in value:
            raise forms.ValidationError("a resource id cannot contain a NUL character")
        if value and not Resource.objects.filter(resource_key=resource_key(value)).exists():
            raise forms.ValidationError(f"no resource has the id {value!r}")
        return value


def _upload_page(
    request: HttpRequest, scope: Scope, form: UploadForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    jobs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-pk")
    context = {
        "nav": "imports",
        "form": form,
        "error": error,
        "limit_mb": int(settings.POSTURE_MAX_UPLOAD_BYTES) // 2**20,
        "page_obj": paginate(request, jobs),
        "format_labels": FORMAT_LABELS,
    }
    return render_page(request, "posture/import_list.html", context, scope, status)


def _job_url(job: ImportJob, scope: Scope) -> str:
    query = scope_query(scope)
    return reverse("import", args=[job.pk]) + (f"?{query.urlencode()}" if query else "")


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """Refuse an oversized upload by its declared length before anything reads the body: the CSRF
    check reads the form, so it comes after (a refusal changes nothing)."""
    if request.method == "POST" and upload_too_large(request):
        try:
            scope = scope_of(request)
        except UserError as error:
            return render_user_error(request, error, 404)
        limit_mb = int(settings.POSTURE_MAX_UPLOAD_BYTES) // 2**20
        message = f"the file is larger than the upload limit of {limit_mb} MB"
        return _upload_page(request, scope, UploadForm(), error=message, status=413)
    return _import_list(request)


@csrf_protect
@scoped
def _import_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    if request.method != "POST":
        return _upload_page(request, scope, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_page(request, scope, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        submission = submit_upload(
            chunks=upload.chunks(),
            name=upload.name or "upload",
            user=request.user if isinstance(request.user, User) else None,
            file_format=form.cleaned_data["format"],
            resource=form.cleaned_data["resource"],
            enqueue=run_import.delay,
        )
    except UploadTooLarge as error:
        return _upload_page(request, scope, UploadForm(), error=error.message, status=413)
    except UserError as error:
        return _upload_page(request, scope, form, error=error.message, status=400)
    job = submission.job
    if submission.created:
        messages.success(request, f"Uploaded {job.original_name}.")
    else:
        messages.info(
            request,
            f"This file was uploaded before (as {job.original_name}, {job.created_at:%Y-%m-%d %H:%M} UTC) "
            "with the same options: here is its import.",
        )
    return HttpResponseRedirect(_job_url(job, scope))


@dataclass(frozen=True)
class ScoreChange:
    before: dict[str, Any]
    after: dict[str, Any]

    @staticmethod
    def percent(score: dict[str, Any]) -> Decimal:
        return Decimal(str(score.get("percentage", 0))) * 100

    @property
    def before_percent(self) -> Decimal:
        return self.percent(self.before)

    @property
    def after_percent(self) -> Decimal:
        return self.percent(self.after)


def _matched_resources(counts: dict[str, Any]) -> list[Resource]:
    """The machines a scan import matched (or discovered), from the ids its counts name."""
    ids = counts.get("resource_ids") or ([counts["resource_id"]] if counts.get("resource_id") else [])
    keys = [resource_key(str(value)) for value in ids]
    return list(
        Resource.objects.filter(resource_key__in=keys).select_related("subscription").order_by("name")
    )


FINDING_CHANGES = (
    ("findings_opened", "Findings opened"),
    ("findings_resolved", "Findings resolved"),
    ("findings_reopened", "Findings reopened"),
)
# Counts shown elsewhere on the job page, or not meant for people.
HIDDEN_COUNTS = {"results", "resource_id", "resource_ids", "scan_id", "format", *dict(FINDING_CHANGES)}


@require_safe
@scoped
def import_detail(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    document = job_document(job)
    counts = job.counts if isinstance(job.counts, dict) else {}
    finished = job.status in (ImportStatus.DONE, ImportStatus.FAILED)
    context = {
        "nav": "imports",
        "job": job,
        "progress": document["progress"],
        "finished": finished,
        "results": counts.get("results") if isinstance(counts.get("results"), dict) else {},
        "finding_changes": [(label, counts[name]) for name, label in FINDING_CHANGES if name in counts],
        "count_items": [
            (name.replace("_", " "), ("yes" if value else "no") if isinstance(value, bool) else value)
            for name, value in counts.items()
            if name not in HIDDEN_COUNTS and isinstance(value, int | str)
        ],
        "machines": _matched_resources(counts) if job.status == ImportStatus.DONE else [],
        "score": (
            ScoreChange(job.score_before, job.score_after)
            if isinstance(job.score_before, dict) and isinstance(job.score_after, dict)
            else None
        ),
        "format_label": FORMAT_LABELS.get(job.requested_format, job.requested_format),
        # What static/posture/import_progress.js needs to follow the job (the API's own document).
        "follow": {
            "api": reverse("api-import", args=[job.pk]),
            "job": document,
            "labels": dict(ImportStatus.choices),
            "interval": POLL_MILLISECONDS,
        },
    }
    return render_page(request, "posture/import_detail.html", context, scope)
