"""Pages: the staff lab editor and its preview, export downloads, the import preview layout."""

import re

import pytest
import yaml
from django.urls import reverse

from curriculum.models import Lab, LabRevision
from curriculum.services import import_curriculum_file, import_preview, lab_edit
from tests.curriculum.conftest import labs_index, simple_track
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

XSS = (
    "Fixed:\n- Run `ls`.\n\n<script>alert('x')</script>\n"
    '<img src=x onerror="alert(1)">\n[click](javascript:alert(2))\n'
    '<div hx-get="/evil" hx-trigger="load">boo</div>\n'
)


def source(tracks=None) -> bytes:
    return labs_index(tracks or {"Alpha": simple_track(3), "Beta": simple_track(2)})


@pytest.fixture
def lab(db):
    import_curriculum_file(actor=None, source=source(), filename="c.txt")
    return Lab.objects.select_related("track").get(track__name="Alpha", week=2)


def urls(lab):
    args = [lab.track.slug, lab.slug]
    return reverse("curriculum:lab_edit", args=args), reverse("curriculum:lab_preview", args=args)


@pytest.mark.parametrize("who", ["learner", "mentor_user"])
def test_non_staff_cannot_edit_or_preview(client, lab, who):
    client.force_login(MembershipFactory().user if who == "learner" else UserFactory())
    edit_url, preview_url = urls(lab)
    assert client.get(edit_url).status_code == 403
    post = {"title": "Hacked", "body": "Hacked:\n- x\n", "note": "x", "action": "save"}
    assert client.post(edit_url, post).status_code == 403
    assert client.post(preview_url, {"body": "hi"}).status_code == 403
    lab.refresh_from_db()
    assert lab.title == "Lab number 2" and lab.revisions.count() == 1


def test_anonymous_is_sent_to_sign_in(client, lab):
    edit_url, preview_url = urls(lab)
    assert client.get(edit_url).status_code == 302
    assert client.post(preview_url, {"body": "x"}).status_code == 302


def test_edit_link_only_for_staff(client, staff, lab):
    edit_url, _ = urls(lab)
    client.force_login(UserFactory())
    assert edit_url not in client.get(lab.get_absolute_url()).content.decode()
    client.force_login(staff)
    assert edit_url in client.get(lab.get_absolute_url()).content.decode()


def test_preview_sanitizes_htmx_and_plain(client, staff, lab):
    client.force_login(staff)
    edit_url, preview_url = urls(lab)
    fragment = client.post(preview_url, {"body": XSS}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "HX-Request" in fragment["Vary"]
    # The no-JS path: the Preview button re-renders the whole page with the preview.
    page = client.post(
        edit_url, {"title": lab.title, "body": XSS, "note": "n", "action": "preview"}
    )
    assert page.status_code == 200
    for html in (fragment.content.decode(), page.content.decode()):
        preview = html[html.index('id="lab-preview"') :]
        preview = preview[: preview.index("</div>")]
        assert "<code>ls</code>" in preview
        assert "<script" not in preview and "onerror" not in preview
        assert "javascript:" not in preview and "hx-get" not in preview
    assert "<html" not in fragment.content.decode()
    assert lab.revisions.count() == 1  # previews save nothing


def test_save_makes_a_revision_and_shows_it(client, staff, lab):
    client.force_login(staff)
    edit_url, _ = urls(lab)
    page = client.get(edit_url).content.decode()
    assert "Preview" in page and "Revision 1" in page and lab.body.split("\n")[0] in page
    response = client.post(
        edit_url,
        {
            "title": lab.title,
            "body": "Fixed:\n- Run `ls`.\n",
            "note": "Code marked",
            "action": "save",
        },
    )
    assert response.status_code == 302 and response["Location"] == lab.get_absolute_url()
    revision = LabRevision.objects.get(lab=lab, number=2)
    assert revision.edited_by == staff and revision.note == "Code marked"
    history = client.get(edit_url).content.decode()
    assert "Code marked" in history and staff.display_name in history


def test_save_without_note_shows_the_error_and_keeps_the_text(client, staff, lab):
    client.force_login(staff)
    edit_url, _ = urls(lab)
    response = client.post(
        edit_url, {"title": lab.title, "body": "Typed text:\n- x\n", "note": "", "action": "save"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Typed text:" in page and "field-error" in page
    assert lab.revisions.count() == 1


@pytest.mark.parametrize("fmt", ["yaml", "json", "markdown"])
def test_export_downloads_are_staff_only(client, staff, lab, fmt):
    lab_edit(actor=staff, lab=lab, title=lab.title, body="Fixed:\n- Run `ls`.\n", note="n")
    url = reverse("curriculum:export", args=[fmt])
    client.force_login(MembershipFactory().user)
    assert client.get(url).status_code == 403
    client.force_login(staff)
    response = client.get(url)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert "Run `ls`." in response.content.decode()
    if fmt == "yaml":
        assert yaml.safe_load(response.content)["tracks"][0]["name"] == "Alpha"
    assert client.get(reverse("curriculum:export", args=["xml"])).status_code == 404


def test_export_is_offered_where_staff_import(client, staff, lab):
    client.force_login(staff)
    for page in ("curriculum:import_upload", "curriculum:browse"):
        html = client.get(reverse(page)).content.decode()
        for fmt in ("yaml", "json", "markdown"):
            assert reverse("curriculum:export", args=[fmt]) in html


def _preview_page(client, staff, tracks):
    record = import_preview(actor=staff, source=labs_index(tracks), filename="c.txt")
    client.force_login(staff)
    return record, client.get(
        reverse("curriculum:import_detail", args=[record.pk])
    ).content.decode()


def test_import_preview_changed_paths_first_unchanged_collapsed_diff_before_apply(
    client, staff, lab
):
    beta = simple_track(2)
    beta[1] = (*beta[1][:3], "Totally new text:\n- Do a brand new thing here.")
    _, page = _preview_page(client, staff, {"Alpha": simple_track(3), "Beta": beta})
    # Beta changed: its section comes first; Alpha is one collapsed line.
    beta_at = page.index("<h2>Beta")
    assert "<h2>Alpha" not in page
    assert re.search(r"1 path unchanged</strong>: Alpha \(3 labs\)", page)
    assert beta_at < page.index("path unchanged")
    # The diff sits before the Apply button.
    assert page.index("Text changes") < page.index("Apply this import")
    # The path badge does not read "unchanged" above "1 changed".
    header = page[beta_at : page.index("</h2>", beta_at)]
    assert "unchanged" not in header and "labs changed" in header


def test_import_preview_conflict_choice_is_honoured(client, staff, lab):
    other = Lab.objects.get(track__name="Alpha", week=3)
    for each in (lab, other):
        lab_edit(actor=staff, lab=each, title=each.title, body="Fixed:\n- Run `ls`.\n", note="n")
    record, page = _preview_page(client, staff, {"Alpha": simple_track(3), "Beta": simple_track(2)})
    assert page.count('type="radio"') == 4 and "Keep the app edit" in page
    assert f'name="choice-{lab.pk}" value="edit" checked' in page
    assert page.index("app edit → file") < page.index("Apply this import")
    response = client.post(
        reverse("curriculum:import_apply", args=[record.pk]),
        {f"choice-{lab.pk}": "file", f"choice-{other.pk}": "edit"},
    )
    assert response.status_code == 302
    lab.refresh_from_db()
    other.refresh_from_db()
    assert "`ls`" not in lab.body and "`ls`" in other.body
    applied = client.get(reverse("curriculum:import_detail", args=[record.pk])).content.decode()
    assert "The file's text was taken." in applied and "The app edit was kept." in applied


def test_admin_lists_revisions_with_editor_and_note(client, staff, lab):
    lab_edit(
        actor=staff, lab=lab, title=lab.title, body="Fixed:\n- Run `ls`.\n", note="Code marked"
    )
    client.force_login(staff)
    listing = client.get(reverse("admin:curriculum_labrevision_changelist")).content.decode()
    assert "Code marked" in listing and staff.display_name in listing
    inline = client.get(reverse("admin:curriculum_lab_change", args=[lab.pk])).content.decode()
    assert "Code marked" in inline and "Edited in the app" in inline


def test_preview_button_keeps_what_was_typed_without_judging_it(client, staff, lab):
    client.force_login(staff)
    edit_url, _ = urls(lab)
    response = client.post(
        edit_url,
        {"title": "Typed title", "body": "Typed:\n- `x`\n", "note": "", "action": "preview"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "field-error" not in page
    assert 'value="Typed title"' in page and "Typed:\n- `x`" in page and "<code>x</code>" in page
    assert lab.revisions.count() == 1
