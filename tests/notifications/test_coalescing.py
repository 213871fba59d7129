"""Hand-ins that arrive while a delivery task waits join it: one task, one batch, one mail
connection, instead of a task each. Checked against a real Redis (REDIS_URL's DB), which
holds the flag that marks a waiting task (notifications.tasks.OUTBOX_FLAG)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import redis
from django.core import mail
from django.utils import timezone

from config.celery import app
from core import broker
from notifications import services, tasks
from notifications.models import EmailDelivery, Notification

REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db,
]

SENT = Notification.EmailStatus.SENT


@pytest.fixture
def published(monkeypatch):
    """Publishing as in production (not eager), with the publishes recorded instead of
    sent: each entry is one task that a worker would run."""
    monkeypatch.setitem(app.conf, "broker_url", REDIS_URL)
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    calls: list = []
    monkeypatch.setattr(
        tasks.process_outbox, "apply_async", lambda *args, **kw: calls.append(kw.get("args"))
    )
    flags = redis.Redis.from_url(REDIS_URL)
    flags.delete(tasks.OUTBOX_FLAG)
    broker.reset_cooldown()
    yield calls
    flags.delete(tasks.OUTBOX_FLAG)
    broker.reset_cooldown()


def run_published_task() -> int:
    """What the worker does with a published task (the linger is skipped when applied)."""
    return tasks.process_outbox.apply().get()


def test_hand_ins_committed_while_a_task_waits_publish_once_and_go_in_one_batch(
    world, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = world.submit()
    with django_capture_on_commit_callbacks(execute=True):
        second = world.submit(learner=world.add_learner())
    assert published == [()]  # the second commit found the first one's task waiting

    assert run_published_task() == 4  # two hand-ins, two events each
    notified = Notification.objects.filter(kind="submission.submitted")
    assert {n.event.target_id for n in notified} == {first.pk, second.pk}
    assert notified.filter(email_status=SENT).count() == 2
    assert len(mail.outbox) == 2
    # The task cleared the flag: the next hand-in publishes a task of its own.
    with django_capture_on_commit_callbacks(execute=True):
        world.submit(learner=world.add_learner())
    assert published == [(), ()]


def test_a_hand_in_committed_after_the_task_cleared_the_flag_gets_its_own_task(
    world, published, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        world.submit()
    assert published == [()]
    claim = services.events_process
    late = []

    def claim_then_a_hand_in_arrives(**kwargs):
        batch = claim(**kwargs)
        if not late:
            # Committed after the task cleared the flag and claimed its batch.
            with django_capture_on_commit_callbacks(execute=True):
                late.append(world.submit(learner=world.add_learner()))
        return batch

    monkeypatch.setattr(services, "events_process", claim_then_a_hand_in_arrives)
    assert run_published_task() == 2
    assert published == [(), ()]  # the late hand-in published its own task
    assert run_published_task() == 2
    targets = set(
        Notification.objects.filter(kind="submission.submitted", email_status=SENT).values_list(
            "event__target_id", flat=True
        )
    )
    assert late[0].pk in targets and len(targets) == 2
    assert len(mail.outbox) == 2
    assert EmailDelivery.objects.count() == 2


def test_with_redis_down_a_hand_in_is_delivered_once_it_is_back(
    world, published, django_capture_on_commit_callbacks, monkeypatch
):
    # Redis down: the flag cannot be set and the publish fails; the submit still commits.
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:9/0")
    monkeypatch.setattr(
        tasks.process_outbox,
        "apply_async",
        lambda *args, **kw: (_ for _ in ()).throw(ConnectionRefusedError("broker down")),
    )
    with django_capture_on_commit_callbacks(execute=True):
        waiting = world.submit()
    assert tasks.enqueue_outbox() is False
    assert not Notification.objects.exists()

    # Redis is back; nothing holds a stale flag, so the next commit publishes, and its
    # task takes the hand-in that waited too.
    monkeypatch.setitem(app.conf, "broker_url", REDIS_URL)
    monkeypatch.setattr(
        tasks.process_outbox, "apply_async", lambda *args, **kw: published.append(kw.get("args"))
    )
    broker.reset_cooldown()
    later = timezone.now() + dt.timedelta(minutes=2)
    # With no further commit the sweep would have enqueued it (the safety net).
    assert len(services.outbox_sweep(now=later).event_ids) == 2
    with django_capture_on_commit_callbacks(execute=True):
        world.submit(learner=world.add_learner())
    assert published == [()]
    assert run_published_task() == 4
    sent = Notification.objects.filter(kind="submission.submitted", email_status=SENT)
    assert waiting.pk in set(sent.values_list("event__target_id", flat=True))
    assert len(mail.outbox) == 2
    assert services.outbox_sweep(now=later).event_ids == []


def test_a_failed_publish_drops_the_flag_so_that_the_next_commit_tries_again(
    world, published, monkeypatch
):
    """The broker refuses while the flag's Redis answers (e.g. a full broker): no flag is
    left behind to hold back the next commit once the broker is back."""
    refusals = []

    def refuse(*args, **kw):
        refusals.append(1)
        raise ConnectionRefusedError("broker refuses")

    monkeypatch.setattr(tasks.process_outbox, "apply_async", refuse)
    assert tasks.enqueue_outbox() is False
    assert refusals == [1]
    assert not redis.Redis.from_url(REDIS_URL).exists(tasks.OUTBOX_FLAG)
    broker.reset_cooldown()
    monkeypatch.setattr(
        tasks.process_outbox, "apply_async", lambda *args, **kw: published.append(kw.get("args"))
    )
    assert tasks.enqueue_outbox() is True
    assert tasks.enqueue_outbox() is True  # waiting already: not published again
    assert published == [()]
