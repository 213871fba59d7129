"""Figures about delivery read from the database when /metrics is scraped (core/metrics.py).

The database is where the outbox and the sent e-mails are recorded, whichever process or
container did the work, so any web process reports the same numbers and a worker needs
no endpoint of its own. Every query here is bounded by an index:
Event(processed_at, created_at) and Notification(email_status, created_at).
"""

import datetime as dt

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .models import Event, Notification

# Submit-to-e-mail latency is reported over the e-mails sent in this last stretch of time.
LATENCY_WINDOW = dt.timedelta(minutes=5)
# Notifications created longer ago than this are not looked at for the latency (an e-mail
# that waited a day is an outage, which the backlog and pending figures already show).
LATENCY_LOOKBACK = dt.timedelta(days=1)
QUANTILES = (0.5, 0.95, 1.0)
SUBMIT_KIND = "submission.submitted"


def _quantile(ordered: list[float], q: float) -> float:
    """Nearest-rank quantile of a sorted, non-empty list."""
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n * q), at least the first
    return ordered[int(rank) - 1]


class DeliveryCollector(Collector):
    def collect(self):
        now = timezone.now()

        outbox = Event.objects.filter(processed_at__isnull=True).aggregate(
            count=Count("pk"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "cohortlabs_outbox_backlog",
            "Outbox events recorded but not yet turned into notifications.",
            value=outbox["count"],
        )
        yield GaugeMetricFamily(
            "cohortlabs_outbox_oldest_age_seconds",
            "Age of the oldest unprocessed outbox event (0 when there is none).",
            value=(now - outbox["oldest"]).total_seconds() if outbox["oldest"] else 0.0,
        )

        pending = Notification.objects.filter(
            email_status=Notification.EmailStatus.PENDING
        ).aggregate(count=Count("pk"), oldest=Min("created_at"))
        yield GaugeMetricFamily(
            "cohortlabs_email_pending",
            "Notification e-mails waiting to be sent (including scheduled retries).",
            value=pending["count"],
        )
        yield GaugeMetricFamily(
            "cohortlabs_email_pending_oldest_age_seconds",
            "Age of the oldest notification e-mail still waiting (0 when there is none).",
            value=(now - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0,
        )

        sent = Notification.objects.filter(
            email_status=Notification.EmailStatus.SENT,
            created_at__gte=now - LATENCY_LOOKBACK,
            emailed_at__gte=now - LATENCY_WINDOW,
            event__kind=SUBMIT_KIND,
        ).values_list("emailed_at", "event__created_at")
        latencies = sorted((emailed - submitted).total_seconds() for emailed, submitted in sent)
        yield GaugeMetricFamily(
            "cohortlabs_submit_emails_recent",
            "Mentor e-mails about a submit sent in the last five minutes.",
            value=len(latencies),
        )
        family = GaugeMetricFamily(
            "cohortlabs_submit_email_latency_seconds",
            "Seconds from a submit to its mentor e-mail, over the e-mails of the last five "
            "minutes, by quantile (no sample when none was sent).",
            labels=["quantile"],
        )
        if latencies:
            for q in QUANTILES:
                family.add_metric([str(q)], _quantile(latencies, q))
        yield family
