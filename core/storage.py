"""Local media storage that leaves no half-written file behind.

Django's FileSystemStorage writes an upload in chunks into a new file; when a write fails
(the disk or quota is full: ENOSPC, EDQUOT, EFBIG) it raises and leaves the partial file
on disk, where no row names it and nothing ever removes it. The services remove what they
stored when a later step fails (submissions.services.attachments), but they never learn the
name of a file whose own write failed. This storage removes it, then raises: the request
answers 507 (core.errors) and the disk keeps only complete files.
"""

from __future__ import annotations

import contextlib
import os

from django.core.files.storage import FileSystemStorage as DjangoFileSystemStorage


class FileSystemStorage(DjangoFileSystemStorage):
    def _save(self, name, content):
        path = self.path(name)
        # Storage.save() chose a name that was free; if another writer took it meanwhile,
        # Django's _save picks a new one, and the file at `path` is not ours to remove.
        ours = not os.path.lexists(path)
        try:
            return super()._save(name, content)
        except FileExistsError:
            raise
        except OSError:
            if ours:
                with contextlib.suppress(OSError):
                    os.remove(path)
            raise
