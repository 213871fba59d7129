"""Email backends for the live-worker tests (loaded by the worker subprocess)."""

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class SlowFileBackend(FileBackend):
    """The file backend, but when SLOW_EMAIL_MARKER is set it first writes that marker file
    and then waits SLOW_EMAIL_SECONDS: the moment a test kills the worker mid-delivery."""

    def send_messages(self, email_messages):
        marker = os.environ.get("SLOW_EMAIL_MARKER")
        if marker:
            Path(marker).write_text("sending")
            time.sleep(float(os.environ.get("SLOW_EMAIL_SECONDS", "60")))
        return super().send_messages(email_messages)
