"""SMTP that fails fast while the mail server is down, and says so once per outage.

Django's SMTP backend waits up to EMAIL_TIMEOUT on every connection attempt. The worker
sends a batch of notification e-mails over one connection and opens a new one after a
failure (notifications/services/delivery.py), so a mail server that accepts connections but
never answers (hung, overloaded, a black-holed route) cost every message of a batch its own
timeout: 25 messages x 10 s held a worker process for minutes, past the task time limit,
while hand-ins piled up behind it. `SMTPBackend` adds a breaker per mail server and process:
after a connection failure, a timeout, or the server dropping the connection, the next
`EMAIL_FAILURE_COOLDOWN` seconds skip the server (the send raises at once, as the failed
one did), then one send tries again. A burst therefore costs one timeout per worker process,
and every skipped e-mail takes the normal failure path: it stays pending and is retried with
backoff (notifications.tasks), then sent exactly once when the server is back.

The outage is logged once at ERROR when it starts ("Mail server at HOST:PORT is
unreachable") and once at WARNING when a send gets through again; operators alert on
`cohortlabs_email_pending_oldest_age_seconds` (docs/deploy.md). A refusal of one message
(a 5xx for a bad address) is not an outage and trips nothing.

settings.py puts this backend in place of Django's SMTP backend (EMAIL_BACKEND or EMAIL_URL).
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend

logger = logging.getLogger(__name__)


class MailServerUnavailable(smtplib.SMTPServerDisconnected):
    """Raised without trying while the mail server is in its cooldown (an SMTPException,
    so callers retry it like the failure that started the cooldown)."""


def is_outage(exc: BaseException) -> bool:
    """The server is unreachable, hung or gone, as opposed to refusing one message."""
    if isinstance(exc, OSError | smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    # 421: "service not available, closing transmission channel".
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


class _Breaker:
    def __init__(self, name: str):
        self.name = name
        self.lock = threading.Lock()
        self.skip_until = 0.0
        self.down_since: float | None = None
        self.skipped = 0

    def check(self) -> None:
        if time.monotonic() < self.skip_until:
            with self.lock:
                self.skipped += 1
            raise MailServerUnavailable(
                f"skipped: the mail server at {self.name} failed recently (retried later)"
            )

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            started = self.down_since is None
            if started:
                self.down_since = time.monotonic()
            self.skip_until = time.monotonic() + settings.EMAIL_FAILURE_COOLDOWN
        if started:
            logger.error(
                "Mail server at %s is unreachable (%s: %s); e-mails stay pending and are "
                "retried with backoff until it is back (logged once per outage)",
                self.name,
                type(exc).__name__,
                exc,
            )

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        with self.lock:
            if self.down_since is None:
                return
            lasted = time.monotonic() - self.down_since
            skipped, self.skipped, self.down_since = self.skipped, 0, None
        logger.warning(
            "Mail server at %s is back after %.0f s (%d sends skipped meanwhile)",
            self.name,
            lasted,
            skipped,
        )


_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


def _breaker(host: str, port: int) -> _Breaker:
    name = f"{host}:{port}"
    with _breakers_lock:
        return _breakers.setdefault(name, _Breaker(name))


def reset_breakers() -> None:
    """Forget every recorded failure (tests)."""
    with _breakers_lock:
        _breakers.clear()


class SMTPBackend(EmailBackend):
    """Django's SMTP backend with the breaker described above."""

    def open(self):
        if self.connection:
            return False
        breaker = _breaker(self.host, self.port)
        breaker.check()
        try:
            opened = super().open()
        except Exception as exc:
            if is_outage(exc):
                breaker.failed(exc)
            raise
        if opened:
            breaker.succeeded()
        return opened

    def _send(self, email_message):
        try:
            return super()._send(email_message)
        except Exception as exc:
            if is_outage(exc):
                _breaker(self.host, self.port).failed(exc)
            raise
