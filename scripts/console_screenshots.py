"""Screenshots of every staff console page with the sample data (scripts/console_sample.py), for
docs/screenshots/console-*.png: headless Chromium (Debian's chromium and chromium-driver) driven by
Selenium, 1280 px wide, the whole page. No network: the console runs in this process on loopback,
with a stand-in for the Rasa API; Selenium is given the driver's path (it never downloads one).

    .venv/bin/python scripts/with_env.py .venv/bin/python scripts/console_screenshots.py [OUT_DIR]

tests/test_console_browser.py runs `take` into a temporary folder and checks what it measured.
"""
import base64
import re
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.serving import make_server  # noqa: E402

from console import create_app  # noqa: E402
from console.accounts import save_user  # noqa: E402
from console.templating import opaque  # noqa: E402
from scripts import console_sample  # noqa: E402
from scripts.live_stack import free_port  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
OUT_DIR = PROJECT_DIR / "docs" / "screenshots"
CHROMEDRIVER, CHROMIUM = Path("/usr/bin/chromedriver"), Path("/usr/bin/chromium")
WIDTH = 1280
USER = "kim"


class OfflineRasa:
    """The Rasa API the console would call: nothing is sent anywhere."""

    def say(self, conversation_id, text, sender_name):
        pass

    def resume_with_intent(self, conversation_id, intent):
        pass


def browser(profile_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMEDRIVER, CHROMIUM):
        if not binary.is_file():
            raise SystemExit(f"{binary} is missing: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile_dir}",
                     f"--window-size={WIDTH},900", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


@contextmanager
def console_with_sample(folder: Path) -> Iterator[tuple]:
    """The console on a free loopback port with the sample data: (base URL, sample, app)."""
    sample = console_sample.build(folder)
    app = create_app({"DATA_DIR": str(folder), "DATABASE_URL": sample.clinic_url,
                      "TRACKER_STORE_URL": sample.tracker_url, "SECRET_KEY": "screenshots-only-" + "s" * 40,
                      "RASA_API": OfflineRasa()})
    save_user(app.extensions["console"].db, USER, console_sample.PASSWORD)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", sample, app
    finally:
        server.shutdown()
        app.extensions["console"].close()


def log_a_call_list(app) -> None:
    """A call list downloaded, so that the audit page shows one."""
    client = app.test_client()
    token = lambda body: re.search(r'name="csrf-token" content="([^"]+)"', body)[1]  # noqa: E731
    login = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": USER, "password": console_sample.PASSWORD, "csrf_token": token(login)})
    client.post("/requests/call-list.csv", data={"csrf_token": token(client.get("/requests").get_data(as_text=True)),
                                                 "confirm": "yes"})


def full_page(driver, path: Path) -> None:
    """The whole page, its layout 1280 px wide (the DevTools protocol's device metrics: the window's
    own size would include the browser's frame)."""
    metrics = {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    height = driver.execute_script("return Math.ceil(document.body.getBoundingClientRect().height)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": min(max(height, 400), 8000)})
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
        path.write_bytes(base64.b64decode(shot["data"]))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def take(out_dir: Path = OUT_DIR) -> Dict[str, object]:
    """Writes console-<page>.png into out_dir; returns what was measured on the way (row heights,
    open details, browser errors) for tests/test_console_browser.py."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    measured: Dict[str, object] = {"files": [], "errors": []}
    with tempfile.TemporaryDirectory(prefix="console-screenshots-") as scratch:
        scratch = Path(scratch)
        (scratch / "data").mkdir()
        with console_with_sample(scratch / "data") as (base, sample, app):
            log_a_call_list(app)
            with app.test_request_context():
                keys = {name: opaque(conversation_id) for name, conversation_id in sample.conversations.items()}
            driver = browser(scratch / "profile")
            try:
                def shot(name: str, url: str, ready=None) -> None:
                    driver.get(base + url)
                    if ready:
                        WebDriverWait(driver, 10).until(ready)
                    path = out_dir / f"console-{name}.png"
                    full_page(driver, path)
                    measured["files"].append(path)

                shot("login", "/login")
                driver.find_element(By.ID, "username").send_keys(USER)
                driver.find_element(By.ID, "password").send_keys(console_sample.PASSWORD)
                driver.find_element(By.CSS_SELECTOR, "form.login button").click()
                WebDriverWait(driver, 10).until(lambda d: d.current_url.rstrip("/") == base)
                shot("overview", "/")
                # the queue's rows are redrawn by its script from /queue.json
                shot("queue", "/queue", lambda d: d.execute_script(
                    "return document.querySelectorAll('#queue-rows tr.kind-callback').length") == 2)
                measured["queue_rows"] = driver.execute_script(
                    "return Array.from(document.querySelectorAll('#queue-rows tr'))"
                    ".map(function (row) { return [row.className, row.innerText]; })")
                shot("conversations", "/conversations")
                shot("conversations-spanish", "/conversations?language=es")
                shot("conversation", f"/conversations/{keys['booking']}")
                measured["details_open"] = driver.execute_script(
                    "return document.querySelectorAll('details.tech[open]').length")
                measured["details_total"] = driver.execute_script(
                    "return document.querySelectorAll('details.tech').length")
                # one message's details unfolded, as whoever improves the assistant reads them
                driver.execute_script("document.querySelectorAll('.msg-click details.tech')[0].open = true;"
                                      "document.querySelectorAll('.msg-visitor details.tech')[3].open = true;")
                full_page(driver, out_dir / "console-conversation-details.png")
                measured["files"].append(out_dir / "console-conversation-details.png")
                shot("conversation-crisis-spanish", f"/conversations/{keys['crisis']}")
                shot("requests", "/requests")
                measured["request_row_heights"] = driver.execute_script(
                    "return Array.from(document.querySelectorAll('tr.request-row'))"
                    ".map(function (row) { return row.getBoundingClientRect().height; })")
                shot("request", f"/requests/{sample.references['booking']}")
                shot("request-urgent-callback", f"/requests/{sample.references['urgent_callback']}")
                shot("improve", "/improve")
                shot("improve-spanish", "/improve?lang=es")
                shot("audit", "/audit")
                shot("handoff", f"/tickets/{sample.tickets['waiting']}",
                     lambda d: d.execute_script("return document.querySelectorAll('#transcript li').length") >= 2)
                measured["errors"] = [entry["message"] for entry in driver.get_log("browser")
                                      if entry["level"] == "SEVERE"]
            finally:
                driver.quit()
    return measured


def main(argv: List[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else OUT_DIR
    measured = take(out_dir)
    for path in measured["files"]:
        print(path)
    if measured["errors"]:
        print("browser errors:", *measured["errors"], sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
