"""GET /api/v1/staff/overview/ : the staff home's figures across cohorts
(`dashboards.staff_overview`) as JSON, staff only."""

from django.core.paginator import Paginator
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from cohorts.selectors import cohort_list
from core.converters import parse_id
from dashboards import links, staff_overview
from dashboards.views import STAFF_PAGE_SIZE


class _OverviewFiguresSerializer(serializers.Serializer):
    open_reviews = serializers.IntegerField(help_text="Work waiting for a verdict now.")
    overdue_reviews = serializers.IntegerField(help_text="Of those, past their review due time.")
    median_turnaround_hours = serializers.FloatField(
        allow_null=True,
        help_text="Nearest-rank median of hand-in to first review, hand-ins of the window; "
        "null when none was reviewed.",
    )
    sla_percent = serializers.IntegerField(
        allow_null=True,
        help_text="Share of the window's hand-ins first reviewed within the cohort's review "
        "SLA (a hand-in still waiting past it is a miss); null when there is none to count.",
    )
    sla_within = serializers.IntegerField(help_text="Hand-ins first reviewed within the SLA.")
    sla_counted = serializers.IntegerField(help_text="Hand-ins the SLA share is taken over.")
    queue_url = serializers.CharField(help_text="The review queue listing the open reviews.")


class _MentorOverviewSerializer(_OverviewFiguresSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class _CohortRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    status = serializers.CharField()
    review_sla_hours = serializers.IntegerField()


class _CohortOverviewSerializer(_OverviewFiguresSerializer):
    cohort = _CohortRefSerializer()
    learners = serializers.IntegerField(help_text="Active learners.")
    at_risk = serializers.IntegerField(
        help_text="Active learners with two or more released labs past due and not handed "
        "in (extensions counted), or no activity for seven days."
    )
    at_risk_url = serializers.CharField(help_text="The cohort page's at-risk list.")
    mentors = _MentorOverviewSerializer(many=True)


class StaffOverviewSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Cohorts in all.")
    page = serializers.IntegerField()
    num_pages = serializers.IntegerField()
    window_days = serializers.IntegerField(help_text="The turnaround and SLA window, in days.")
    generated_at = serializers.DateTimeField()
    results = _CohortOverviewSerializer(many=True)


def _figures(figures, queue_url: str) -> dict:
    return {
        "open_reviews": figures.open_reviews,
        "overdue_reviews": figures.overdue_reviews,
        "median_turnaround_hours": figures.median_hours,
        "sla_percent": figures.sla_percent,
        "sla_within": figures.within_sla,
        "sla_counted": figures.sla_counted,
        "queue_url": queue_url,
    }


class StaffOverviewView(APIView):
    """The staff home's figures across cohorts (`dashboards.staff_overview`), staff only."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "page",
                OpenApiTypes.INT,
                description=f"{STAFF_PAGE_SIZE} cohorts a page, newest start first; "
                "out of range: the nearest page.",
            )
        ],
        responses=StaffOverviewSerializer,
        summary="Staff overview across cohorts",
        description=(
            "Per cohort and per mentor: open and overdue reviews now, median turnaround and "
            f"SLA compliance over the hand-ins of the last {staff_overview.WINDOW.days} days; "
            "per cohort, the learners at risk. Staff only (403 for everyone else)."
        ),
    )
    def get(self, request):
        now = timezone.now()
        page = Paginator(cohort_list(), STAFF_PAGE_SIZE).get_page(
            parse_id(request.query_params.get("page"))
        )
        rows = staff_overview.staff_overview(cohorts=list(page.object_list), now=now)
        results = []
        for row in rows:
            cohort = row.cohort
            results.append(
                {
                    "cohort": {
                        "id": cohort.pk,
                        "name": cohort.name,
                        "slug": cohort.slug,
                        "status": cohort.status,
                        "review_sla_hours": cohort.review_sla_hours,
                    },
                    **_figures(row.figures, links.queue_url(tab="all", cohort=cohort.pk)),
                    "learners": row.learners,
                    "at_risk": row.at_risk,
                    "at_risk_url": reverse("dashboard:staff-cohort", args=[cohort.pk])
                    + "#risk-heading",
                    "mentors": [
                        {
                            "id": m.mentor.pk,
                            "name": m.mentor.display_name,
                            **_figures(
                                m.figures,
                                links.queue_url(tab="all", cohort=cohort.pk, mentor=m.mentor.pk),
                            ),
                        }
                        for m in row.mentors
                    ],
                }
            )
        data = {
            "count": page.paginator.count,
            "page": page.number,
            "num_pages": page.paginator.num_pages,
            "window_days": staff_overview.WINDOW.days,
            "generated_at": now,
            "results": results,
        }
        return Response(StaffOverviewSerializer(data).data)
