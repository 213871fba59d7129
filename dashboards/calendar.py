"""The learner's due dates as an iCalendar file (RFC 5545), for the private feed URL."""

import datetime as dt

from icalendar import Calendar, Event

from accounts.zones import user_zone
from cohorts.selectors import cohort_schedule

from . import links, selectors

EVENT_LENGTH = dt.timedelta(minutes=30)


def feed_ical(*, user, base_url: str) -> bytes:
    """One event per released or upcoming lab of each cohort the user learns in, ending at
    its (extended) due time. UIDs are stable, so calendar apps update events in place.

    Times are instants in UTC (calendar apps show them in the reader's zone); the text of
    each event names the due time in the feed owner's own time zone."""
    zone = user_zone(user)
    calendar = Calendar()
    calendar.add("prodid", "-//Cohort Labs//Due dates//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Cohort Labs: due dates")
    calendar.add("x-wr-timezone", zone.key)
    stamp = dt.datetime.now(dt.UTC)
    base = base_url.rstrip("/")
    for membership in selectors.learner_memberships(user):
        cohort = membership.cohort
        for entry in cohort_schedule(cohort=cohort, learner=user):
            event = Event()
            event.add("uid", f"due-{cohort.pk}-{entry.lab.pk}-{user.pk}@cohortlabs")
            event.add("dtstamp", stamp)
            event.add("dtstart", entry.effective_due_at - EVENT_LENGTH)
            event.add("dtend", entry.effective_due_at)
            event.add("summary", f"Due: Week {entry.week} · {entry.lab.title}")
            path = links.lab_url(cohort=cohort, lab=entry.lab)
            due = entry.effective_due_at.astimezone(zone)
            description = f"{cohort.name}. Due {due:%a %d %b %Y %H:%M} {due.tzname()}."
            if entry.extension_due_at:
                description += " (extended)"
            if path:
                event.add("url", base + path)
                description += f"\n{base + path}"
            event.add("description", description)
            calendar.add_component(event)
    return calendar.to_ical()
