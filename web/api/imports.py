"""REST endpoints of imports: upload a file, follow its job."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.jobs import job_progress, submit_upload
from intake.tasks import run_import
from posture.errors import UserError
from posture.models import ImportJob, Resource, resource_key
from web.access import RouteAccess
from web.authentication import AgentPrincipal, EnrollmentTokenAuthentication


def job_document(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "file": job.original_name,
        "size": job.size,
        "sha256": job.sha256,
        "format": job.detected_format or job.requested_format or None,
        "resource": job.resource_hint or None,
        "status": job.status,
        "progress": job_progress(job),
        "attempts": job.attempts,
        "counts": job.counts,
        "error": job.error or None,
        "score_before": job.score_before,
        "score_after": job.score_after,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def upload_too_large(request: HttpRequest) -> bool:
    """Refuse by the declared length, before Django reads the body (multipart adds a little)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return declared > int(settings.POSTURE_MAX_UPLOAD_BYTES) + 64 * 1024


class IsUserOrUploadingAgent(BasePermission):
    """People read and upload; an agent (enrollment token) may only upload, and read its own jobs."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.user, AgentPrincipal):
            return request.method in ("POST", "GET") and (request.method == "POST" or "pk" in view.kwargs)
        return bool(request.user and request.user.is_authenticated)


def agent_resource(agent: AgentPrincipal, resource: str) -> str:
    """An agent uploads for a machine of its own workspace only: it cannot speak for other machines."""
    found = Resource.objects.filter(resource_key=resource_key(resource)).first() if resource else None
    if found is None or found.workspace_id != agent.token.workspace.workspace_id:
        raise UserError(
            "an agent uploads scans of a machine that reports to its workspace (send its resource_id)"
        )
    return found.resource_id


class ImportListView(APIView):
    authentication_classes = [SessionAuthentication, EnrollmentTokenAuthentication]
    permission_classes = [RouteAccess, IsUserOrUploadingAgent]

    def get(self, request: Request) -> Response:
        jobs = ImportJob.objects.order_by("-created_at")[:100]
        return Response({"results": [job_document(job) for job in jobs]})

    def post(self, request: Request) -> Response:
        limit_mb = int(settings.POSTURE_MAX_UPLOAD_BYTES) // 2**20
        if upload_too_large(request):
            return Response(
                {"detail": f"the file is larger than the upload limit of {limit_mb} MB"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"file": ["a file is required (multipart field 'file')"]}, status=400)
        agent = request.user if isinstance(request.user, AgentPrincipal) else None
        resource = str(request.POST.get("resource", "") or "")
        try:
            if agent is not None:
                resource = agent_resource(agent, resource)
            submission = submit_upload(
                chunks=upload.chunks(),
                name=upload.name or "upload",
                user=None if agent is not None else request.user,  # type: ignore[arg-type]
                token=agent.token if agent is not None else None,
                file_format=str(request.POST.get("format", "") or ""),
                resource=resource,
                enqueue=run_import.delay,
            )
        except UserError as error:
            return Response({"detail": error.message}, status=status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK
        submission.job.refresh_from_db()
        return Response(job_document(submission.job), status=code)


class ImportDetailView(APIView):
    authentication_classes = [SessionAuthentication, EnrollmentTokenAuthentication]
    permission_classes = [RouteAccess, IsUserOrUploadingAgent]

    def get(self, request: Request, pk: int) -> Response:
        jobs = ImportJob.objects.all()
        if isinstance(request.user, AgentPrincipal):
            jobs = jobs.filter(created_by_token=request.user.token)
        return Response(job_document(get_object_or_404(jobs, pk=pk)))
