"""The mail server refuses, hangs, or stalls mid-message during a burst of hand-ins.

What the people need: the worker is not held for a timeout per message (one per process,
then the breaker of core/mail.py skips the server), every e-mail stays pending and is
retried, the operators see one log line per outage and the pending figures, and when the
server is back each e-mail goes out exactly once.
"""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from cohorts.models import Membership
from notifications.models import EmailDelivery, Notification
from tests.notifications.conftest import make_world
from tests.notifications.test_worker import _sweep_now, wait_for

from .smtp import SMTPServer

# A real worker on a private Redis, on the PostgreSQL test database (CI runs them).
pytestmark = [pytest.mark.redis, pytest.mark.postgres]

EMAIL_TIMEOUT = 2
BURST = 12


@pytest.fixture
def smtp():
    server = SMTPServer()
    yield server
    server.close()


@pytest.mark.parametrize("outage", ["refused", "hung", "stalls"])
def test_a_burst_while_the_mail_server_is_down_is_sent_once_when_it_is_back(
    live_worker, private_redis, smtp, outage
):
    world = make_world()
    Membership.objects.filter(cohort=world.cohort, role=Membership.Role.MENTOR).update(capacity=50)
    learners = [world.add_learner() for _ in range(BURST)]
    live_worker.start(
        REDIS_URL=private_redis.url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
        EMAIL_TIMEOUT=str(EMAIL_TIMEOUT),
        EMAIL_FAILURE_COOLDOWN="4",
    )
    world.submit()
    wait_for(lambda: len(smtp.message_ids) == 1, what="the first e-mail")

    smtp.set_mode(outage)
    started = time.monotonic()
    with transaction.atomic():
        for learner in learners:
            world.submit(learner=learner)
    burst = Notification.objects.filter(kind="submission.submitted", email_status="pending")
    # Every e-mail of the burst failed and was put back for a retry, within one timeout
    # (plus the worker's own time), not one timeout per message (BURST x EMAIL_TIMEOUT).
    wait_for(
        lambda: burst.count() == BURST and not burst.filter(email_attempts=0).exists(),
        timeout=BURST * EMAIL_TIMEOUT,
        what="the burst's failures to be recorded",
    )
    failing_seconds = time.monotonic() - started
    print(
        f"\nmail server {outage}: {BURST} e-mails failed and rescheduled in {failing_seconds:.1f}s"
    )
    assert failing_seconds < EMAIL_TIMEOUT + 6, failing_seconds
    assert not burst.filter(email_retry_at__isnull=True).exists()
    assert len(smtp.message_ids) == 1
    if outage == "hung":
        assert smtp.connections <= 3  # the first message's try, not one per message
    log = live_worker.log_path.read_text()
    assert log.count("Mail server at 127.0.0.1") == 1, "one log line for the outage"

    # Back: the retries (here: the sweeper, once their retry time has come) send each once.
    smtp.set_mode("ok")
    time.sleep(4)  # the breaker's cooldown
    burst.update(email_retry_at=None)
    _sweep_now()
    sent = Notification.objects.filter(kind="submission.submitted", email_status="sent")
    wait_for(lambda: sent.count() == BURST + 1, timeout=20, what="the burst's e-mails")
    _sweep_now()  # a second sweep, as beat runs one every minute: nothing goes twice
    time.sleep(1)
    expected = {f"<notification-{pk}@127.0.0.1>" for pk in sent.values_list("pk", flat=True)}
    assert sorted(smtp.message_ids) == sorted(expected), "each e-mail exactly once"
    assert EmailDelivery.objects.count() == BURST + 1
    assert "is back after" in live_worker.log_path.read_text()
    assert live_worker.process.poll() is None
