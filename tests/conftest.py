"""Shared fixtures: the real domain, a dispatcher, and trackers built by Rasa from real events."""
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActiveLoop, Event, SlotSet, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity  # noqa: E402
from rasa.shared.importers.importer import TrainingDataImporter  # noqa: E402
from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from clinic import storage  # noqa: E402
from clinic.notifier import LogNotifier  # noqa: E402


@pytest.fixture(scope="session")
def domain() -> Domain:
    """The domain as Rasa trains it: domain.yml merged with the responses under data/."""
    importer = TrainingDataImporter.load_from_config(
        str(PROJECT_DIR / "config.yml"), str(PROJECT_DIR / "domain.yml"), [str(PROJECT_DIR / "data")]
    )
    return importer.get_domain()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def make_tracker(domain: Domain):
    """Builds an SDK tracker the way the action server receives it, from Rasa's own tracker state."""

    def build(
        text: str = "hello",
        parse_data: Optional[Dict[str, Any]] = None,
        slots: Optional[Dict[str, Any]] = None,
        active_loop: Optional[str] = None,
        events: Optional[List[Event]] = None,
        sender_id: str = "test-visitor",
        extracted: Optional[Dict[str, Any]] = None,
    ) -> Tracker:
        """`extracted`: slots set from this message (after it), as Rasa's slot extraction does."""
        history: List[Event] = list(events or [])
        history += [SlotSet(name, value) for name, value in (slots or {}).items()]
        if active_loop:
            history.append(ActiveLoop(active_loop))
        parse = parse_data or {"intent": {"name": "greet", "confidence": 1.0}}
        history.append(UserUttered(text, parse.get("intent"), parse.get("entities"), parse_data=parse))
        history += [SlotSet(name, value) for name, value in (extracted or {}).items()]
        core_tracker = DialogueStateTracker.from_events(sender_id, history, slots=domain.slots)
        return Tracker.from_dict(core_tracker.current_state(EventVerbosity.AFTER_RESTART))

    return build


@pytest.fixture(scope="session")
def live_assistant(tmp_path_factory):
    """A running assistant (see scripts/live_stack.py), shared by the end-to-end tests."""
    from scripts.live_stack import start

    assistant = start(tmp_path_factory.mktemp("live"))
    yield assistant
    assistant.stop()


# ---- browser tests (tests/browser.py): each test module gets its own Chromium and demo-page stack


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A Chromium of the test module's own."""
    from tests.browser import chrome

    driver = chrome(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def web_stack(tmp_path_factory):
    """The widget built, an assistant that accepts the demo pages' origin, and the pages served:
    (origin, assistant)."""
    from tests.browser import demo_page_stack

    with demo_page_stack(tmp_path_factory.mktemp("webchat")) as stack:
        yield stack


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The request store the actions use, on an empty SQLite database of the test's own."""
    request_store = storage.RequestStore(f"sqlite:///{tmp_path / 'clinic.db'}", tmp_path / "spool.jsonl", LogNotifier())
    monkeypatch.setattr(storage, "_store", request_store)
    yield request_store
    request_store.close()
