"""No URL answers 500 to a malformed id: every route, every parameter, every method.

Each page route (from Django's resolver) and each API operation (from the OpenAPI schema)
is built with the fixture world's real objects, then one parameter at a time is replaced
by a malformed value (text, negative, zero, out of the database's integer range, unicode,
the JSON `null` a client sends by mistake). People who reach deep into the code (staff, the
owner learner, the cohort's mentor) send every method; each answer must be a refusal
(4xx) or a redirect, never a server error.
"""

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from tests.security.test_url_access import (
    API_ROUTES,
    PAGE_ROUTES,
    UNSAFE,
    api_operations,
    walk_urls,
)
from tests.security.world import build_world

MALFORMED = (
    "null",
    "-1",
    "0",
    "abc",
    "1.5",
    "99999999999999999999",
    str(2**63),
    "%C3%BC%C3%B1%C3%AF",  # üñï
    quote("١٢٣"),  # Arabic-Indic digits: str.isdigit() says yes, the database says no
    "1e3",
)
PEOPLE = ("staff", "owner", "mentor")
# A stand-in each converter accepts, unique enough to find in the reversed URL.
PLACEHOLDER = {
    "int": 987654321,
    "id": 987654321,
    "slug": "zzplaceholderzz",
    "str": "zzplaceholderzz",
}


@pytest.fixture
def world(db, settings, django_capture_on_commit_callbacks):
    settings.AXES_ENABLED = False
    with django_capture_on_commit_callbacks(execute=True):
        built = build_world()
    built.notifications = list(built.owner.notifications.order_by("pk"))
    return built


def _clients(world) -> dict[str, Client]:
    clients = {}
    for who in PEOPLE:
        client = Client(raise_request_exception=False)
        client.force_login(getattr(world, who))
        clients[who] = client
    return clients


def _page_urls(world) -> list[tuple[str, str]]:
    """(label, url) for every named page route with a parameter, each malformed in turn."""
    urls = []
    for name, route, kwargs in walk_urls():
        if not kwargs or not name or name.startswith("api:") or name.startswith("admin:"):
            continue
        case = PAGE_ROUTES.get(name)
        valid = case.kwargs(world) if case else {}
        for key in kwargs:
            converter = _converter(route, key)
            marker = PLACEHOLDER.get(converter, PLACEHOLDER["str"])
            args = {k: valid.get(k, PLACEHOLDER.get(_converter(route, k), "x")) for k in kwargs}
            args[key] = marker
            template = reverse(name, kwargs=args)
            assert str(marker) in template, (name, template)
            for bad in MALFORMED:
                urls.append((f"{name}[{key}={bad}]", template.replace(str(marker), bad, 1)))
    return urls


def _converter(route: str, key: str) -> str:
    for part in route.split("<")[1:]:
        spec = part.split(">")[0]
        converter, _, name = spec.rpartition(":")
        if name == key:
            return converter or "str"
    return "str"


def _api_urls(world) -> list[tuple[str, str, list[str]]]:
    urls = []
    for path, methods in api_operations().items():
        if "{" not in path:
            continue
        case = API_ROUTES[path]
        valid = case.kwargs(world)
        for key in valid:
            for bad in MALFORMED:
                url = path
                for k, v in valid.items():
                    url = url.replace("{" + k + "}", bad if k == key else str(v))
                urls.append((f"{path}[{key}={bad}]", url, methods))
    return urls


def _request(client: Client, method: str, url: str, api: bool):
    if api and method != "GET":
        return getattr(client, method.lower())(url, data="{}", content_type="application/json")
    if method == "POST":
        return client.post(url, {"body": "x"})
    return client.get(url)


@pytest.mark.django_db
def test_malformed_ids_in_pages_never_cause_a_server_error(world):
    clients = _clients(world)
    problems = []
    for label, url in _page_urls(world):
        for who, client in clients.items():
            for method in ("GET", "POST"):
                status = _request(client, method, url, api=False).status_code
                if status >= 500:
                    problems.append(f"{label} {method} {url} as {who}: {status}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_malformed_ids_in_the_api_never_cause_a_server_error(world):
    clients = _clients(world)
    problems = []
    for label, url, methods in _api_urls(world):
        for who, client in clients.items():
            for method in ("GET", *UNSAFE):
                if method not in methods:
                    continue
                status = _request(client, method, url, api=True).status_code
                if status >= 500 or status in (200, 201, 204):
                    problems.append(f"{label} {method} {url} as {who}: {status}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_malformed_ids_in_the_admin_never_cause_a_server_error(world):
    from django.contrib import admin

    client = Client(raise_request_exception=False)
    client.force_login(world.staff)
    world.staff.is_superuser = True
    world.staff.save(update_fields=["is_superuser"])
    problems = []
    for model in admin.site._registry:
        label = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for view in ("change", "delete", "history"):
            template = reverse(f"{label}_{view}", args=["987654321"])
            for bad in MALFORMED:
                url = template.replace("987654321", bad)
                status = client.get(url).status_code
                if status >= 500:
                    problems.append(f"{label}_{view} {url}: {status}")
    assert not problems, "\n".join(problems)


QUERY_NAMES = ("cohort", "lab", "learner", "mentor", "page", "page_size", "week", "track", "tab")


@pytest.mark.django_db
def test_malformed_ids_in_query_strings_never_cause_a_server_error(world):
    """Lists and dashboards read ids from the query string (filters, pages): same rule."""
    clients = _clients(world)
    urls = [
        reverse(name)
        for name, _route, kwargs in walk_urls()
        if name and not kwargs and not name.startswith(("admin:", "api:")) and name != "logout"
    ]
    urls += [
        path for path, methods in api_operations().items() if "{" not in path and "GET" in methods
    ]
    problems = []
    for url in urls:
        for bad in MALFORMED:
            query = "&".join(f"{name}={bad}" for name in QUERY_NAMES)
            for who, client in clients.items():
                status = client.get(f"{url}?{query}").status_code
                if status >= 500:
                    problems.append(f"{url}?{query} as {who}: {status}")
    assert not problems, "\n".join(problems)
