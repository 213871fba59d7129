"""GET /api/v1/search/?q= : the search page's results as JSON."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import search as search_module


class SearchResultSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["lab", "person", "submission"])
    title = serializers.CharField()
    url = serializers.CharField(help_text="The page the result leads to (a path on this site).")


class SearchResponseSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)


class SearchView(APIView):
    """Labs, people and submissions matching `q`, only what the caller may open."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description=f"The words to find; longer than {search_module.MAX_QUERY_LENGTH} "
                "characters is cut. Empty: no results.",
            )
        ],
        responses=SearchResponseSerializer,
        summary="Search",
        description=(
            f"At most {search_module.LIMIT} results of each type, labs first, then people, "
            "then submissions. Lab titles match for everyone signed in; a lab's text only "
            "where the caller may read it. People: staff find everyone in any cohort, mentors "
            "the learners of the cohorts they mentor, learners nobody. Submissions: one's own, "
            "those of the cohorts one mentors; staff all."
        ),
    )
    def get(self, request):
        results = search_module.search(request.user, request.query_params.get("q"))
        data = {"results": [{"type": r.type, "title": r.title, "url": r.url} for r in results.all]}
        return Response(SearchResponseSerializer(data).data)
