"""The HTML report opened in a real headless Chromium (Debian's chromium and chromium-driver).

A person opens the page from a CI artifact: every requirement must be
visible, the failure blocks readable, the verdict filters must work, and the
page must render (the screenshot is checked: its size, that it is not blank,
and that a fail badge is painted red where the browser says it is). This
test never skips: .ci/run installs chromium, and without it the test fails
saying so. ``HEALLOG_SCREENSHOT_DIR`` keeps the screenshots for a look.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from conformance import requirements
from conformance.render.html import COLOURS, render_html
from tests.render.conftest import SECRETS

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1280, 1000
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: apt-get install chromium chromium-driver (.ci/run does)")
    profile = tempfile.mkdtemp(prefix="hlc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager would otherwise try to download one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, document, tmp_path) -> webdriver.Chrome:
    path = tmp_path / "report.html"
    path.write_text(render_html(document), "utf-8")
    browser.get(path.as_uri())
    return browser


def visible(driver, selector: str) -> list:
    return [element for element in driver.find_elements(By.CSS_SELECTOR, selector) if element.is_displayed()]


def screenshot(driver, tmp_path: Path, name: str) -> Image.Image:
    """The viewport as an image, kept under HEALLOG_SCREENSHOT_DIR when that is set."""
    png = driver.get_screenshot_as_png()
    (tmp_path / name).write_bytes(png)
    if os.environ.get("HEALLOG_SCREENSHOT_DIR"):
        keep = Path(os.environ["HEALLOG_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        (keep / name).write_bytes(png)
    return Image.open(io.BytesIO(png)).convert("RGB")


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def test_every_requirement_and_the_failure_blocks_are_shown(page, tmp_path):
    rows = visible(page, "#requirements tbody tr")
    assert [row.get_attribute("id") for row in rows] == [f"row-{rid}" for rid in requirements.catalogue()]
    assert [row.find_element(By.CSS_SELECTOR, "td.id").text for row in rows] == list(requirements.catalogue())
    blocks = visible(page, "article .failure")
    assert len(blocks) == 5  # ENV-3 (two), ENV-6, AUTH-6, HDR-2
    labels = [dt.text for dt in visible(page, "#req-ENV-3 dt")]
    assert labels[:5] == ["Expected", "Actual", "Response", "Reproduce", "Hint"]
    reproduce = visible(page, "#req-ENV-3 dd.part-reproduce pre")[0].text
    assert reproduce.startswith("curl -i -X GET -H 'authorization: Bearer ***'")
    text = page.find_element(By.TAG_NAME, "body").text
    for secret in SECRETS:
        assert secret not in text and secret not in page.page_source
    assert "<script>alert(1)</script>" in text  # shown as text, not run

    image = screenshot(page, tmp_path, "report-all.png")
    assert image.size == (WIDTH, page.execute_script("return window.innerHeight"))
    assert len(image.getcolors(maxcolors=WIDTH * HEIGHT) or ()) > 50, "the screenshot is blank"


def test_verdict_filter_shows_only_that_verdict(page, tmp_path):
    page.find_element(By.CSS_SELECTOR, '[data-filter="fail"]').click()
    rows = visible(page, "#requirements tbody tr")
    assert [row.get_attribute("id") for row in rows] == ["row-ENV-3", "row-ENV-6", "row-AUTH-6"]
    assert [a.get_attribute("id") for a in visible(page, "article")] == ["req-ENV-3", "req-ENV-6", "req-AUTH-6"]
    assert page.find_element(By.CSS_SELECTOR, '[data-filter="fail"]').get_attribute("aria-pressed") == "true"

    image = screenshot(page, tmp_path, "report-fail-filter.png")
    badge = visible(page, "#row-ENV-3 .badge")[0]
    centre = (badge.rect["x"] + badge.rect["width"] / 2, badge.rect["y"] + badge.rect["height"] / 2)
    painted = [image.getpixel((int(centre[0]) + dx, int(centre[1]))) for dx in range(-12, 13)]
    red = hex_rgb(COLOURS["fail"])
    assert any(sum(abs(a - b) for a, b in zip(pixel, red)) < 40 for pixel in painted), painted

    page.find_element(By.CSS_SELECTOR, '[data-filter="not run"]').click()
    assert [row.get_attribute("id") for row in visible(page, "#requirements tbody tr")] == ["row-REV-4", "row-PERF-1"]
    assert visible(page, "#no-failures-shown")  # no failure of that verdict, and the page says so
    page.find_element(By.CSS_SELECTOR, '[data-filter="all"]').click()
    assert len(visible(page, "#requirements tbody tr")) == len(requirements.catalogue())
