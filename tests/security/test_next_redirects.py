"""`next=` never sends anyone off-site (issue 14, point 7).

Every place that honours `next` (sign-in, sign-out, a mentor's claim/release/comment) is
probed with the spellings browsers read as another site: scheme-relative, backslashes,
tabs and newlines browsers strip, encoded slashes, user-info tricks and script URLs.
"""

import html
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from submissions import services as submissions
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.submissions.conftest import make_world

pytestmark = pytest.mark.django_db

OFF_SITE = [
    "//evil.com",
    "///evil.com",
    "////evil.com/",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "/\\/evil.com",
    " //evil.com",
    "\t//evil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    "https:evil.com",
    "https:/evil.com",
    "https://evil.com",
    "http://evil.com",
    "HTTPS://EVIL.COM",
    "ftp://evil.com",
    "https://testserver@evil.com",
    "https://evil.com\\@testserver",
    "https://testserver.evil.com/",
    "//evil.com%2F@testserver",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "%5C%5Cevil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//\u3002evil.com",  # ideographic full stop
    "//evil\u3002com",
    "https://\uff45vil.com",  # full-width e
]


def assert_stays_on_site(location: str) -> None:
    """What a browser would do with `location` (backslashes read as slashes, tabs and
    newlines dropped, surrounding spaces trimmed) still lands on this site."""
    seen = "".join(ch for ch in location if ch not in "\t\n\r").replace("\\", "/").strip()
    parts = urlsplit(seen)
    assert parts.scheme in ("", "http", "https"), location
    assert parts.netloc in ("", "testserver"), location
    assert not seen.startswith("//"), location


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site(client, target):
    user = UserFactory()
    page = client.get(reverse("login"), {"next": target}).content.decode()
    for value in re.findall(r'name="next" value="([^"]*)"', page):
        assert_stays_on_site(html.unescape(value))
    response = client.post(
        reverse("login"),
        {"username": user.email, "password": DEFAULT_PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert_stays_on_site(response["Location"])
    response = client.post(
        f"{reverse('login')}?next={target}",
        {"username": user.email, "password": DEFAULT_PASSWORD},
    )
    assert_stays_on_site(response["Location"])


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_out_never_redirects_off_site(client, target):
    client.force_login(UserFactory())
    response = client.post(reverse("logout"), {"next": target})
    assert response.status_code == 302
    assert_stays_on_site(response["Location"])


@pytest.mark.parametrize("target", OFF_SITE)
def test_claim_release_and_comment_never_redirect_off_site(client, target):
    world = make_world(mentors=1, capacity=0)
    submission = world.submitted()
    client.force_login(world.mentor)
    for name in ("submissions:claim", "submissions:release"):
        response = client.post(reverse(name, kwargs={"pk": submission.pk}), {"next": target})
        assert response.status_code == 302
        assert_stays_on_site(response["Location"])
    response = client.post(
        reverse("submissions:comment", kwargs={"pk": submission.pk}),
        {"body": "Looks good", "next": target},
    )
    assert response.status_code == 302
    assert_stays_on_site(response["Location"])


def test_an_on_site_next_is_still_honoured(client):
    """The refusals above are not a refusal of every `next`."""
    world = make_world(mentors=1, capacity=0)
    submission = world.submitted()
    submissions.submission_claim(actor=world.mentor, submission=submission)
    queue = reverse("submissions:queue")
    response = client.post(
        reverse("login"),
        {"username": world.mentor.email, "password": DEFAULT_PASSWORD, "next": f"{queue}?tab=mine"},
    )
    assert response["Location"] == f"{queue}?tab=mine"
