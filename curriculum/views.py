from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Track


@login_required
def browse(request: HttpRequest) -> HttpResponse:
    tracks = Track.objects.filter(active=True).order_by("position")
    return render(request, "curriculum/browse.html", {"tracks": tracks})
