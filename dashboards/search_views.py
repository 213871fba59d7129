"""The search results page (the header's search box submits here with GET)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import search as search_module


@login_required
@require_safe
def search(request: HttpRequest) -> HttpResponse:
    results = search_module.search(request.user, request.GET.get("q"))
    return render(
        request,
        "dashboards/search.html",
        {"results": results, "max_length": search_module.MAX_QUERY_LENGTH},
    )
