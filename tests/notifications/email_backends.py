"""Email backends for the live-worker tests (loaded by the worker subprocess)."""

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class SlowFileBackend(FileBackend):
    """The file backend, but when SLOW_EMAIL_MARKER is set it first writes that marker file
    (holding this process's id) and then waits SLOW_EMAIL_SECONDS: the moment a test kills
    the worker mid-delivery.

    With SLOW_EMAIL_AFTER=N the first N messages of the process go through at once and only
    the next one waits, once: a later process (the worker's replacement) finds the marker
    and sends everything."""

    sent_in_process = 0

    def send_messages(self, email_messages):
        marker = os.environ.get("SLOW_EMAIL_MARKER")
        after = int(os.environ.get("SLOW_EMAIL_AFTER", "0"))
        due = marker and SlowFileBackend.sent_in_process >= after
        if due and (not after or not Path(marker).exists()):
            Path(marker).write_text(str(os.getpid()))
            time.sleep(float(os.environ.get("SLOW_EMAIL_SECONDS", "60")))
        sent = super().send_messages(email_messages)
        SlowFileBackend.sent_in_process += sent or 0
        return sent
