"""Build the emails: plain text plus HTML, from templates per kind, links made absolute.

Every email carries a one-click unsubscribe link for its kind (`unsubscribe.py`), in the
footer and in the List-Unsubscribe headers (RFC 8058)."""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from accounts.identity import single_line
from accounts.zones import user_zone

from . import unsubscribe
from .handlers import KINDS


@functools.lru_cache(maxsize=16)
def _page(name: str, urlconf, root_urlconf: str, prefix: str) -> str:
    return reverse(name, urlconf=urlconf)


def _page_url(name: str) -> str:
    """The absolute URL of a page without arguments; reversed once per process (each
    e-mail names the same pages), keyed by what reverse() depends on."""
    path = _page(name, get_urlconf(), settings.ROOT_URLCONF, get_script_prefix())
    return settings.SITE_URL + path


def absolute(link: str) -> str:
    if not link:
        return _page_url("notifications:list")
    if link.startswith(("http://", "https://")):
        return link
    return settings.SITE_URL + link


def _common_context(*, user, kind: str) -> dict:
    return {
        "site_url": settings.SITE_URL,
        "preferences_url": _page_url("notifications:preferences"),
        "notifications_url": _page_url("notifications:list"),
        "unsubscribe_url": unsubscribe.url(user_id=user.pk, kind=kind),
    }


def _render_pair(name: str, context: dict) -> tuple[str, str]:
    """Text and HTML bodies, with every date in the recipient's own time zone."""
    with timezone.override(user_zone(context["recipient"])):
        text = render_to_string(f"notifications/email/{name}.txt", context)
        html = render_to_string(f"notifications/email/{name}.html", context)
    return text, html


def message_id(name: str) -> str:
    """A Message-ID that is the same every time this e-mail is built ("notification-12"):
    if a sender dies after the mail server took the message and before it recorded that,
    the retry sends the same Message-ID, which mail servers and clients deduplicate on."""
    host = urlsplit(settings.SITE_URL).hostname or "cohortlabs.local"
    return f"<{name}@{host}>"


# RFC 2047 encoded words of at most 75 characters: "=?utf-8?b?" + 60 base64 characters
# (45 bytes) + "?=". The first is shorter, to fit on the line after "Subject: " (78
# characters): otherwise the generator folds before it and readers see a leading space.
_WORD_BYTES = 45
_FIRST_WORD_BYTES = 42


def encoded_subject(subject: str) -> str | None:
    """A non-ASCII subject as base64 encoded words on one line (the generator folds it at
    the spaces between them); None for an ASCII subject.

    The standard library's `Header.encode` finds where to split a non-ASCII header by
    re-encoding every growing prefix of it, per character: for a notification's subject
    (up to 150 characters, "Cohort Labs · ..." is never ASCII) that was a third of the
    worker's CPU per e-mail. Words are cut at UTF-8 character boundaries, so each one
    decodes on its own; readers join adjacent encoded words without the spaces."""
    if subject.isascii():
        return None
    raw = subject.encode("utf-8")
    words, start = [], 0
    while start < len(raw):
        end = min(start + (_WORD_BYTES if words else _FIRST_WORD_BYTES), len(raw))
        while end < len(raw) and raw[end] & 0xC0 == 0x80:  # inside a character: cut before
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(raw[start:end]).decode('ascii')}?=")
        start = end
    return " ".join(words)


class NotificationMessage(EmailMultiAlternatives):
    """`EmailMultiAlternatives` with its subject header encoded by `encoded_subject`."""

    def message(self):
        subject = self.subject
        encoded = encoded_subject(subject)
        if encoded is None:
            return super().message()
        self.subject = ""  # Django's own encoding of it is what this class saves
        try:
            mime = super().message()
        finally:
            self.subject = subject
        mime.replace_header("Subject", encoded)
        return mime


def _message(
    *,
    user,
    kind: str,
    subject: str,
    text: str,
    html: str,
    msgid: str | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMultiAlternatives:
    """Every notification e-mail is built here. Subjects name people and cohorts, whose
    names are typed by users: the subject is made one line whatever they contain, so no
    name can add a header or stop the e-mail from being sent."""
    headers = unsubscribe.headers(user_id=user.pk, kind=kind, link=unsubscribe_url)
    if msgid:
        headers["Message-ID"] = msgid
    message = NotificationMessage(
        subject=single_line(subject),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


def _announcement_context(notification) -> dict:
    """The announcement itself (title and sanitized body), read when the e-mail is built."""
    from core.markdown import render_markdown

    from .handlers import load_target

    announcement = load_target(notification.event) if notification.event_id else None
    if announcement is None:
        return {}
    return {"announcement": announcement, "body_html": render_markdown(announcement.body)}


# Kinds whose e-mail quotes more than the notification's one line.
_EXTRA_CONTEXT = {"announcement.posted": _announcement_context}


def notification_email(notification) -> EmailMultiAlternatives:
    """One notification as an email; the kind's own templates when it has them."""
    slug = notification.kind.replace(".", "_")
    info = KINDS.get(notification.kind)
    context = {
        **_common_context(user=notification.recipient, kind=notification.kind),
        "notification": notification,
        "recipient": notification.recipient,
        "link": absolute(notification.link),
        "kind_label": info.label if info else notification.kind,
        "data": notification.event.data if notification.event_id else {},
    }
    extra = _EXTRA_CONTEXT.get(notification.kind)
    if extra is not None:
        context.update(extra(notification))
    try:
        select_template([f"notifications/email/{slug}.txt"])
        name = slug
    except TemplateDoesNotExist:
        name = "notification"
    text, html = _render_pair(name, context)
    subject = f"Cohort Labs · {notification.text}"
    if len(subject) > 150:
        subject = subject[:149] + "…"
    return _message(
        user=notification.recipient,
        kind=notification.kind,
        subject=subject,
        text=text,
        html=html,
        msgid=message_id(f"notification-{notification.pk}"),
        unsubscribe_url=context["unsubscribe_url"],
    )


def digest_email(*, user, items: list, more: int, day) -> EmailMultiAlternatives:
    context = {
        **_common_context(user=user, kind=unsubscribe.DIGEST),
        "recipient": user,
        "items": [(n, absolute(n.link)) for n in items],
        "more": more,
        "day": day,
        "count": len(items) + more,
    }
    text, html = _render_pair("digest", context)
    noun = "update" if context["count"] == 1 else "updates"
    subject = f"Cohort Labs · your daily digest: {context['count']} {noun}"
    return _message(
        user=user,
        kind=unsubscribe.DIGEST,
        subject=subject,
        text=text,
        html=html,
        unsubscribe_url=context["unsubscribe_url"],
    )


def weekly_email(*, name: str, user, subject: str, context: dict) -> EmailMultiAlternatives:
    """A weekly summary; `name` is its template and, after "digest.", its kind."""
    kind = f"digest.{name}"
    common = _common_context(user=user, kind=kind)
    text, html = _render_pair(name, {**common, "recipient": user, **context})
    return _message(
        user=user,
        kind=kind,
        subject=subject,
        text=text,
        html=html,
        unsubscribe_url=common["unsubscribe_url"],
    )


def warm_up() -> int:
    """Compile every e-mail template once (the Celery worker's main process calls this
    before its pool forks, so that the first e-mail of each process is not the one that
    pays for it; config/celery.py). Returns how many templates it compiled."""
    from django.template import engines

    compiled = 0
    for engine in engines.all():
        for directory in engine.template_dirs:
            folder = Path(directory) / "notifications" / "email"
            for path in sorted(folder.glob("*.*")) if folder.is_dir() else ():
                engine.get_template(f"notifications/email/{path.name}")
                compiled += 1
    return compiled
