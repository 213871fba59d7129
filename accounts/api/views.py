import datetime as dt

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import api_tokens_of
from accounts.services import api_token_create, api_token_revoke, user_update_profile

from .common import IPThrottle, TokenObtainThrottle, visible_or_404
from .serializers import (
    ApiTokenSerializer,
    MeSerializer,
    TokenCreatedSerializer,
    TokenObtainSerializer,
)

BAD_CREDENTIALS = "Unable to sign in with that email and password."


class TokenObtainView(APIView):
    """Exchange an email and password for an API token (shown once)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [IPThrottle, TokenObtainThrottle]

    @extend_schema(
        request=TokenObtainSerializer,
        responses={201: TokenCreatedSerializer},
        auth=[],
        summary="Create an API token",
    )
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            # The Django request, so that django-axes counts failures and locks out guessers.
            user = authenticate(
                request._request, username=data["email"].strip(), password=data["password"]
            )
        except AxesBackendPermissionDenied as exc:
            raise Throttled(detail="Too many failed sign-in attempts; try again later.") from exc
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": [BAD_CREDENTIALS]})
        days = data.get("expires_in_days")
        expires_at = timezone.now() + dt.timedelta(days=days) if days else None
        token, secret = api_token_create(
            user=user, name=data.get("name", ""), expires_at=expires_at
        )
        body = TokenCreatedSerializer(
            {
                "token": secret,
                "id": token.pk,
                "prefix": token.prefix,
                "name": token.name,
                "expires_at": token.expires_at,
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class TokenListView(generics.ListAPIView):
    """Your API tokens, newest first (secrets are never shown again)."""

    serializer_class = ApiTokenSerializer
    filter_backends: list = []

    def get_queryset(self):
        return api_tokens_of(self.request.user)


class TokenDetailView(generics.RetrieveDestroyAPIView):
    """One of your tokens; DELETE revokes it (it stops working at once)."""

    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        return api_tokens_of(self.request.user)

    def get_object(self):
        return visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def perform_destroy(self, instance):
        api_token_revoke(actor=self.request.user, token=instance)


class MeView(APIView):
    """Who the credentials belong to; PATCH changes your display name and time zone."""

    @extend_schema(responses=MeSerializer, summary="You")
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        request=MeSerializer,
        responses=MeSerializer,
        summary="Change your name or time zone",
        description="Send either or both of `name` and `time_zone`. An unknown time zone "
        'is a 400 naming the field: `{"errors": {"time_zone": [...]}}`; nothing changes.',
    )
    def patch(self, request):
        serializer = MeSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = user_update_profile(
            actor=request.user,
            user=request.user,
            name=serializer.validated_data.get("name"),
            time_zone=serializer.validated_data.get("time_zone"),
        )
        return Response(MeSerializer(user).data)
