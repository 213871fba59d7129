import logging

from celery import shared_task

logger = logging.getLogger(__name__)


def enqueue_event(event_id: int) -> None:
    """Enqueue processing of one outbox row; never raises (the sweeper retries later)."""
    try:
        process_event.delay(event_id)
    except Exception:  # broker down: the row stays unprocessed and is swept later
        logger.warning("Could not enqueue event %s; the sweeper will retry", event_id)


@shared_task(name="notifications.process_event")
def process_event(event_id: int) -> None:
    from .services import event_process

    event_process(event_id=event_id)
