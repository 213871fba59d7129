"""Redis restarted, or frozen, under a running worker: the worker rides it out.

Until config/celery.py dropped `broker_connection_max_retries=1`, a worker whose broker went away for more than about two seconds
exited ("Unrecoverable error: OperationalError ... Connection refused"): the one quick
retry meant for web requests (config/celery.py) applied to its consumer too, so nothing
was delivered after Redis came back until someone restarted the worker.
"""

from __future__ import annotations

import time

import pytest

from core import broker
from notifications.models import EmailDelivery, Event, Notification
from tests.notifications.conftest import make_world
from tests.notifications.test_worker import _message_ids, _sweep_now, wait_for

# A real worker on a private Redis, on the PostgreSQL test database (CI runs them).
pytestmark = [pytest.mark.redis, pytest.mark.postgres]

# Longer than the old single retry (2 s), short enough for a fast test.
OUTAGE_SECONDS = 5


@pytest.mark.parametrize("outage", ["restarted", "frozen"])
def test_the_worker_reconnects_and_delivers_what_was_committed_meanwhile(
    live_worker, private_redis, outage
):
    world = make_world()
    live_worker.start(REDIS_URL=private_redis.url)
    world.submit()
    wait_for(lambda: live_worker.emails_to(world.mentor.email) == 1, what="the first e-mail")

    if outage == "restarted":
        private_redis.stop()
    else:
        private_redis.pause()
    try:
        # A hand-in while the broker is away: committed, its enqueue fails fast.
        started = time.monotonic()
        world.submit(learner=world.add_learner())
        assert time.monotonic() - started < 5
        time.sleep(OUTAGE_SECONDS)
        assert live_worker.process.poll() is None, "the worker exited during the outage"
    finally:
        if outage == "restarted":
            private_redis.start()
        else:
            private_redis.resume()
    assert Event.objects.filter(processed_at__isnull=True).exists()  # waiting in the outbox

    # Beat's next sweep (every minute) re-enqueues the event; the same worker delivers it.
    broker.reset_cooldown()
    _sweep_now()
    # Within beat's sweep period: after a freeze the consumer's reconnects back off (2, 4,
    # 6 s ...), and on a busy machine that took longer than the 25 s this used to allow.
    wait_for(
        lambda: live_worker.emails_to(world.other_mentor.email) == 1,
        timeout=60,
        what="the e-mail committed during the outage",
    )
    # A second sweep finds nothing left: no e-mail goes twice.
    _sweep_now()
    sentinel = world.add_learner()
    world.submit(learner=sentinel)
    wait_for(
        lambda: not Event.objects.filter(processed_at__isnull=True).exists(),
        what="the sentinel hand-in",
    )
    wait_for(
        lambda: not Notification.objects.filter(email_status="pending").exists(),
        what="the sentinel's e-mails",
    )
    time.sleep(0.5)
    assert_each_sent_exactly_once(live_worker)
    assert live_worker.process.poll() is None


def assert_each_sent_exactly_once(worker) -> None:
    """Every notification e-mailed is in the mail folder once (by its Message-ID)."""
    sent = _message_ids(worker.mail_dir)
    notifications = Notification.objects.filter(email_status="sent")
    expected = [
        f"<notification-{pk}@127.0.0.1>" for pk in notifications.values_list("pk", flat=True)
    ]
    assert sorted(sent) == sorted(expected), "each e-mail exactly once"
    assert EmailDelivery.objects.count() == len(expected)
