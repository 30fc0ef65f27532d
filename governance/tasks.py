"""Celery tasks of governance (run by beat): exemptions lapse, rules catch up, digests go out."""

from celery import shared_task

from governance import exemption_requests, exemptions, notifications, sync


@shared_task(name="governance.tasks.lapse_exemptions")
def lapse_exemptions() -> int:
    return exemptions.lapse_expired()


@shared_task(name="governance.tasks.catch_up")
def catch_up() -> dict[str, int]:
    return sync.everywhere()


@shared_task(name="governance.tasks.weekly_digest")
def weekly_digest() -> int:
    return notifications.send_weekly_digests()


@shared_task(name="governance.tasks.follow_exemption_requests")
def follow_exemption_requests() -> dict[str, int]:
    return exemption_requests.follow_expiry()
