"""A lab whose inline code the import repaired reads as written, at desktop and phone width."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import User
from curriculum.models import Lab

from .conftest import CURRICULUM, DESKTOP, PHONE, SCREENSHOTS, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "repair-reader-pass-123"


@pytest.fixture
def reader(live_server):
    call_command("import_curriculum", str(CURRICULUM), verbosity=0)
    return User.objects.create_user(email="reader@example.com", password=PASSWORD, name="Rea Der")


def test_a_repaired_lab_shows_inline_code_as_code(new_page, reader):
    # Staff read every lab's text (a learner only once it is released to them).
    reader.is_staff = True
    reader.save(update_fields=["is_staff"])
    lab = Lab.objects.get(track__slug="ai-systems", week=5)
    page = new_page()
    sign_in(page, reader.email, PASSWORD)
    page.goto(f"/curriculum/paths/{lab.track.slug}/{lab.slug}/")
    expect(page.get_by_role("heading", name=re.compile(re.escape(lab.title)))).to_be_visible()
    prose = page.locator("main .prose").first
    expect(prose.locator("code", has_text=re.compile(r"^nvidia-smi -q$"))).to_be_visible()
    expect(prose.locator("code", has_text=re.compile(r"^deviceQuery$"))).to_be_visible()
    text = prose.inner_text()
    assert "Run nvidia-smi and nvidia-smi -q. Read every line." in text
    assert "nvidia-smiand" not in text and "deviceQuerysample" not in text
    screenshot(page, "repaired-lab")

    python = Lab.objects.get(track__slug="python-mastery", week=10)
    page.goto(f"/curriculum/paths/{python.track.slug}/{python.slug}/")
    prose = page.locator("main .prose").first
    expect(prose.locator("code", has_text=re.compile(r"^tracemalloc$"))).to_be_visible()
    assert "Run under memray and tracemalloc." in prose.inner_text()
    screenshot(page, "repaired-lab-python")


def test_staff_see_the_repairs_next_to_the_import_preview(new_page, reader):
    reader.is_staff = True
    reader.save(update_fields=["is_staff"])
    page = new_page()
    sign_in(page, reader.email, PASSWORD)
    page.goto("/curriculum/imports/new/")
    page.get_by_label("Curriculum file").set_input_files(str(CURRICULUM))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#import-status")).to_contain_text("Review the changes below")
    section = page.locator("#import-repairs")
    expect(section).to_contain_text("glued code spans split and marked as code")
    expect(section).to_contain_text("Suspects (left as written)")
    # the section itself (the whole preview of 187 new labs is too long to look at)
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        section.screenshot(path=str(SCREENSHOTS / f"import-repairs-{label}.png"))
    page.set_viewport_size(DESKTOP)
    section.locator("summary", has_text="Repairs, lab by lab").click()
    expect(section.locator("td code", has_text="deviceQuerysample.")).to_be_visible()
    box = section.bounding_box()
    page.screenshot(
        path=str(SCREENSHOTS / "import-repairs-open-desktop.png"),
        full_page=True,
        clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": 700},
    )
