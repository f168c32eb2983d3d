"""The staff console in a real browser (headless Chromium, 1280 px wide), with the sample data of
scripts/console_sample.py: every page renders without a browser error (the Content-Security-Policy
allows no inline script or style), the requests list is one short line a request, transcripts open
with every "Details" fold closed, and the live queue's script redraws it urgent first. Takes the
screenshots of scripts/console_screenshots.py into a temporary folder on the way.

Needs Debian's chromium and chromium-driver and selenium in the venv (see tests/browser.py).
"""
import pytest

MAX_ROW_HEIGHT = 40  # px: one line of text (it was ~230 px with the form in every row)


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    from scripts.console_screenshots import CHROMEDRIVER, CHROMIUM, take

    for binary in (CHROMEDRIVER, CHROMIUM):
        if not binary.is_file():
            pytest.fail(f"{binary} is missing: apt-get install -y chromium chromium-driver")
    return take(tmp_path_factory.mktemp("console-screenshots"))


def test_every_page_renders_without_a_browser_error(measured):
    assert measured["errors"] == [], "the console reported errors (CSP violations, failed requests)"
    names = {path.name for path in measured["files"]}
    for page in ("login", "overview", "queue", "conversations", "conversation", "requests", "request", "improve",
                 "audit", "handoff"):
        assert f"console-{page}.png" in names
    for path in measured["files"]:
        assert path.stat().st_size > 10_000, path
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_requests_list_is_one_short_line_a_request(measured):
    heights = measured["request_row_heights"]
    assert len(heights) == 4 and all(height <= MAX_ROW_HEIGHT for height in heights), heights


def test_a_transcript_opens_with_its_details_folded(measured):
    assert measured["details_total"] >= 15 and measured["details_open"] == 0


def test_the_live_queue_redraws_urgent_first(measured):
    rows = measured["queue_rows"]
    assert [("urgent" in classes.split()) for classes, _ in rows] == [True, True, False, False]
    assert "Chat: waiting for a person" in rows[0][1] and "Call-back" in rows[1][1]
    assert "min" in rows[0][1], "how long it has waited"
