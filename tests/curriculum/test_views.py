"""Pages: the read-only browser for everyone signed in, the staff import pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from curriculum.models import CurriculumImport, Lab
from curriculum.selectors import track_labs
from tests.curriculum.conftest import labs_index, simple_track
from tests.factories import LabFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_browser_requires_sign_in(client):
    response = client.get(reverse("curriculum:browse"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_browse_track_and_lab_pages(client, user, staff, seeded):
    client.force_login(user)
    page = client.get(reverse("curriculum:browse")).content.decode()
    assert "AI Systems" in page and "24 labs" in page and "Import a curriculum file" not in page
    track = client.get(reverse("curriculum:track", args=["java-mastery"])).content.decode()
    assert "Modern Syntax and the Type System" in track and track.count("<tr>") == 21
    url = reverse("curriculum:lab", args=["ai-systems", "roofline-sketch"])
    lab = client.get(url).content.decode()
    # Someone in no cohort sees the title only (the rule: tests/cohorts/test_lab_access.py).
    assert "Roofline Sketch" in lab and "Performs C = A @ B" not in lab
    assert "Week 2: Three Matmuls" in lab
    client.force_login(staff)
    lab = client.get(url).content.decode()
    assert "<ol>" in lab and "Performs C = A @ B" in lab and "Deliverables" in lab
    assert client.get(reverse("curriculum:lab", args=["ai-systems", "nope"])).status_code == 404
    assert client.get(reverse("curriculum:track", args=["nope"])).status_code == 404


def test_archived_labs_are_not_shown(client, user):
    lab = LabFactory(active=False)
    client.force_login(user)
    assert client.get(reverse("curriculum:lab", args=[lab.track.slug, lab.slug])).status_code == 404


def test_lab_html_and_htmx_attributes_render_inert(client, staff):
    body = (
        'Read this <script>alert(1)</script> and <a href="javascript:alert(2)" hx-get="/x">link</a>'
    )
    source = labs_index({"Alpha": [(1, "M", "Evil", f"- {body}\n- <img src=x onerror=alert(3)>")]})
    from curriculum.services import import_curriculum_file

    import_curriculum_file(actor=None, source=source, filename="evil.txt")
    client.force_login(staff)
    lab = Lab.objects.get()
    html = client.get(reverse("curriculum:lab", args=["alpha", lab.slug])).content.decode()
    article = html[html.index("<article") : html.index("</aside>")]
    elements = _elements(article)
    assert not [tag for tag, _ in elements if tag in ("script", "img", "iframe", "object")]
    attributes = {name for _, attrs in elements for name, _ in attrs}
    assert not [name for name in attributes if name.startswith(("hx-", "data-hx", "on"))]
    assert not [
        v for _, attrs in elements for n, v in attrs if n == "href" and "javascript" in (v or "")
    ]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in article  # shown as text


def _elements(html: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_import_pages_are_staff_only(client, user):
    client.force_login(user)
    assert client.get(reverse("curriculum:import_list")).status_code == 403
    assert client.get(reverse("curriculum:import_upload")).status_code == 403
    record = CurriculumImport.objects.create(filename="x.txt", status="previewed")
    assert client.get(reverse("curriculum:import_detail", args=[record.pk])).status_code == 403
    assert client.post(reverse("curriculum:import_apply", args=[record.pk])).status_code == 403
    assert client.post(reverse("curriculum:import_discard", args=[record.pk])).status_code == 403
    record.refresh_from_db()
    assert record.status == "previewed"


def test_upload_preview_apply_flow(client, staff, django_capture_on_commit_callbacks):
    client.force_login(staff)
    upload = SimpleUploadedFile(
        "labs.txt", labs_index({"Alpha": simple_track(3)}), content_type="text/plain"
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("curriculum:import_upload"), {"file": upload, "format": "auto"}
        )
    assert len(callbacks) == 1  # the parse task is enqueued after commit
    record = CurriculumImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "curriculum:import_detail", args=[record.pk]
    )
    assert (
        record.status == "previewed"
        and record.created_by == staff
        and record.detected_format == "labs-index"
    )
    page = client.get(response["Location"]).content.decode()
    assert "Apply this import" in page and "3 added" in page
    assert not Lab.objects.exists()
    response = client.post(reverse("curriculum:import_apply", args=[record.pk]))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == "applied" and record.applied_by == staff
    assert Lab.objects.filter(active=True).count() == 3
    history = client.get(reverse("curriculum:import_list")).content.decode()
    assert "labs.txt" in history and staff.display_name in history and "labs 3 added" in history


def test_upload_with_errors_shows_lines_and_discard(
    client, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    bad = labs_index({"Alpha": simple_track(2) + [(2, "M", "Again", "Text.")]})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("curriculum:import_upload"),
            {"file": SimpleUploadedFile("bad.txt", bad), "format": "auto"},
        )
    record = CurriculumImport.objects.get()
    assert record.status == "failed" and record.errors[0]["message"].startswith(
        "Week 2 appears twice"
    )
    page = client.get(reverse("curriculum:import_detail", args=[record.pk])).content.decode()
    assert f"bad.txt:{record.errors[0]['line']}" in page and "Apply this import" not in page
    client.post(reverse("curriculum:import_discard", args=[record.pk]))
    record.refresh_from_db()
    assert record.status == "discarded"
    assert not Lab.objects.exists()


def test_upload_over_5_mb_is_refused_before_storing(client, staff):
    client.force_login(staff)
    big = SimpleUploadedFile("big.txt", b"x" * (5 * 1024 * 1024 + 1))
    response = client.post(reverse("curriculum:import_upload"), {"file": big, "format": "auto"})
    assert response.status_code == 200
    assert "the limit is 5 MB" in response.content.decode()
    assert not CurriculumImport.objects.exists()


def test_progress_partial_for_htmx_polls_then_refreshes(client, staff):
    client.force_login(staff)
    record = CurriculumImport.objects.create(
        created_by=staff, filename="x.txt", status="pending", source=b""
    )
    response = client.get(
        reverse("curriculum:import_detail", args=[record.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    body = response.content.decode()
    assert (
        body.lstrip().startswith('<section id="import-status"') and 'hx-trigger="every 1s"' in body
    )
    assert "HX-Refresh" not in response
    full = client.get(reverse("curriculum:import_detail", args=[record.pk])).content.decode()
    assert '<meta http-equiv="refresh"' in full  # without JavaScript the page reloads itself
    CurriculumImport.objects.filter(pk=record.pk).update(status="previewed", progress=100)
    response = client.get(
        reverse("curriculum:import_detail", args=[record.pk]), HTTP_HX_REQUEST="true"
    )
    assert response["HX-Refresh"] == "true"


def test_stale_pending_upload_is_parsed_by_the_page(client, staff):
    import datetime as dt

    from django.utils import timezone

    client.force_login(staff)
    record = CurriculumImport.objects.create(
        created_by=staff,
        filename="x.txt",
        status="pending",
        source=labs_index({"Alpha": simple_track(2)}),
        created_at=timezone.now() - dt.timedelta(minutes=5),
    )
    client.get(reverse("curriculum:import_detail", args=[record.pk]))
    record.refresh_from_db()
    assert record.status == "previewed"


def test_history_is_paginated(client, staff):
    client.force_login(staff)
    CurriculumImport.objects.bulk_create(
        [CurriculumImport(filename=f"f{i}.txt", status="discarded") for i in range(30)]
    )
    page = client.get(reverse("curriculum:import_list")).content.decode()
    assert "Page 1 of 2" in page and page.count("chip-import-discarded") == 25


def test_page_query_counts_do_not_grow_with_labs(client, user, django_assert_max_num_queries):
    client.force_login(user)
    for count in (2, 12):
        track = TrackFactory()
        for week in range(1, count + 1):
            LabFactory(track=track, week=week)
    with django_assert_max_num_queries(8):
        client.get(reverse("curriculum:browse"))
    for track in TrackFactory._meta.model.objects.all():
        with django_assert_max_num_queries(8):
            assert client.get(reverse("curriculum:track", args=[track.slug])).status_code == 200


def test_track_labs_selector_contract():
    track = TrackFactory()
    later = LabFactory(track=track, week=3)
    earlier = LabFactory(track=track, week=1)
    archived = LabFactory(track=track, week=2, active=False)
    assert list(track_labs(track)) == [earlier, later]
    assert list(track_labs(track, active_only=False)) == [earlier, archived, later]


def test_admin_pages_and_read_only_revisions(client, staff, seeded):
    client.force_login(staff)
    lab = Lab.objects.first()
    for url in (
        reverse("admin:curriculum_track_changelist"),
        reverse("admin:curriculum_lab_changelist"),
        reverse("admin:curriculum_lab_change", args=[lab.pk]),
        reverse("admin:curriculum_labrevision_change", args=[lab.current_revision_id]),
        reverse("admin:curriculum_curriculumimport_change", args=[seeded.pk]),
    ):
        assert client.get(url).status_code == 200, url
    revision = lab.current_revision
    client.post(
        reverse("admin:curriculum_labrevision_change", args=[revision.pk]), {"title": "Tampered"}
    )
    revision.refresh_from_db()
    assert revision.title != "Tampered"
    assert client.get(reverse("admin:curriculum_labrevision_add")).status_code == 403
    assert client.get(reverse("admin:curriculum_lab_delete", args=[lab.pk])).status_code == 403


def test_import_default_curriculum_is_idempotent():
    from curriculum.services import import_default_curriculum

    first = import_default_curriculum()
    second = import_default_curriculum()
    assert first.diff["totals"] == second.diff["totals"] == {"tracks": 8, "labs": 187}
    assert second.diff["labs"]["unchanged"] == 187


def test_lab_absolute_url_is_the_lab_page(seeded):
    lab = Lab.objects.select_related("track").get(track__slug="ai-systems", week=1)
    assert lab.get_absolute_url() == reverse(
        "curriculum:lab", args=["ai-systems", "roofline-sketch"]
    )


def test_markdown_body_html_renders_inert(client, staff):
    from curriculum.services import import_curriculum_file

    source = (
        b"## Web\n\n### Week 1 - HTTP - Raw Sockets\n\n"
        b'Open a socket <span hx-get="/evil" hx-trigger="load">and</span> speak HTTP.\n\n'
        b'<form hx-post="/x"><input name=a onfocus="alert(1)" autofocus></form>\n\n'
        b"[click](javascript:alert(1))\n"
    )
    import_curriculum_file(actor=None, source=source, filename="web.md")
    client.force_login(staff)
    html = client.get(reverse("curriculum:lab", args=["web", "raw-sockets"])).content.decode()
    article = html[html.index("<article") : html.index("</article>")]
    elements = _elements(article)
    assert not [tag for tag, _ in elements if tag in ("form", "input", "script")]
    names = {name for _, attrs in elements for name, _ in attrs}
    assert not [name for name in names if name.startswith(("hx-", "on"))]
    assert "javascript:" not in article
    assert "speak HTTP" in article
