"""Thin Celery tasks: ids in, one service call each, safe to run twice."""

from celery import shared_task


@shared_task(
    name="cohorts.send_invitation",
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_invitation(invitation_id: int) -> bool:
    """Send one invitation email (the service sends it at most once)."""
    from .services import invitation_send

    return invitation_send(invitation_id=invitation_id)


@shared_task(name="cohorts.send_pending_invitations")
def send_pending_invitations() -> int:
    """Periodic sweep: enqueue invitations whose after-commit enqueue was lost."""
    from .services import invitations_pending

    pending = invitations_pending()
    for invitation_id in pending:
        send_invitation.delay(invitation_id)
    return len(pending)
