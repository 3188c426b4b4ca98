"""Each console page looks as recorded: a screenshot per page against a golden image, with
a stated tolerance (times and counts move; the layout must not).

Runs before test_console.py (file order, one xdist group), on the world as it settled:
every label up to date, nothing published. After a deliberate change of a page,
`ESL_UPDATE_GOLDENS=1 pytest tests/ui/test_appearance.py` writes the new goldens; look
at them before committing.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page, expect

from tests.ui.console_world import GOLDENS, ConsoleWorld, sign_in

# A pixel differs when a channel moves by more than this (anti-aliasing stays below).
CHANNEL_SLACK = 48
# (page name, path, what must be on it, share of pixels allowed to differ)
PAGES = [
    ("overview", "/ui/", "Shelves at a glance", 0.02),
    ("store", "/ui/stores/KRK-01", "Store KRK-01", 0.02),
    ("label", "/ui/labels/KRK-01-gw1-00001", "Label KRK-01-gw1-00001", 0.04),
    ("publications", "/ui/publications", "Publications", 0.02),
    ("audit", "/ui/audit", "Audit", 0.04),
]


def differing_share(actual: Image.Image, golden: Image.Image) -> float:
    if actual.size != golden.size:
        return 1.0
    difference = ImageChops.difference(actual.convert("RGB"), golden.convert("RGB"))
    # The largest channel difference per pixel, then the share above the slack.
    red, green, blue = difference.split()
    largest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    histogram = largest.histogram()
    moved = sum(histogram[CHANNEL_SLACK + 1 :])
    return moved / (actual.size[0] * actual.size[1])


def check_against_golden(page: Page, name: str, tolerance: float) -> None:
    page.wait_for_load_state("networkidle")
    shot = Image.open(io.BytesIO(page.screenshot()))
    golden_path = GOLDENS / f"{name}.png"
    if os.environ.get("ESL_UPDATE_GOLDENS") == "1":
        shot.save(golden_path)
    if not golden_path.exists():
        pytest.fail(f"no golden {golden_path}: run with ESL_UPDATE_GOLDENS=1 and look at it")
    share = differing_share(shot, Image.open(golden_path))
    if share > tolerance:
        failed = Path(os.environ.get("ESL_GOLDEN_FAILURES", "/tmp")) / f"console-{name}.png"
        shot.save(failed)
        pytest.fail(f"{name}: {share:.1%} of pixels differ (allowed {tolerance:.0%}); see {failed}")


def test_the_sign_in_page_looks_as_recorded(page: Page, world: ConsoleWorld) -> None:
    page.goto(f"{world.url}/ui/sign-in")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check_against_golden(page, "sign-in", 0.005)


@pytest.mark.parametrize(("name", "path", "heading", "tolerance"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_looks_as_recorded(
    page: Page, world: ConsoleWorld, name: str, path: str, heading: str, tolerance: float
) -> None:
    sign_in(page, world, "admin")
    page.goto(f"{world.url}{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    for image in page.locator("main img").all():
        expect(image).to_have_js_property("complete", True)
    check_against_golden(page, name, tolerance)
