from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cohorts.models import Membership


@login_required
def learner_home(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user, active=True, role=Membership.Role.LEARNER)
        .select_related("cohort__track")
        .order_by("cohort__start_date")
    )
    return render(request, "dashboards/learner_home.html", {"memberships": memberships})


@login_required
def mentor_home(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user, active=True, role=Membership.Role.MENTOR)
        .select_related("cohort__track")
        .order_by("cohort__start_date")
    )
    return render(request, "dashboards/mentor_home.html", {"memberships": memberships})


@staff_member_required
def staff_home(request: HttpRequest) -> HttpResponse:
    from cohorts.models import Cohort

    cohorts = Cohort.objects.select_related("track").order_by("-start_date")[:50]
    return render(request, "dashboards/staff_home.html", {"cohorts": cohorts})
