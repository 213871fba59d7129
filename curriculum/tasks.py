"""Celery tasks of the curriculum app: thin, ids in, one service call each."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="curriculum.import_parse", acks_late=True, ignore_result=True)
def import_parse(import_id: int) -> None:
    """Parse an uploaded curriculum and record its diff. Safe to run twice."""
    from . import services

    services.import_parse(import_id=import_id)
