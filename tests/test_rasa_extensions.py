"""The project's extensions of Rasa, rasa_sdk and python-socketio, as rasa_server/extensions.py lists them.

- A canary for every upstream function an extension replaces, re-implements or relies on: an upgrade
  that changes one fails here, naming it and what to re-check.
- install() logs one line per patch, and a second install() changes nothing.
- No module patches an upstream object behind the list's back.
"""
import ast
import logging
from importlib.metadata import version
from pathlib import Path

import pytest

from rasa_server import extensions

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Where code that runs in the Rasa server or the action server lives.
EXTENSION_PACKAGES = ("channels", "rasa_server", "rasa_sdk_plugins", "nlu_components")
UPSTREAM_PACKAGES = ("rasa", "rasa_sdk", "socketio", "engineio", "sanic", "logging")
VERSIONS = ", ".join(f"{name} {version(name)}" for name in ("rasa", "rasa-sdk", "python-socketio", "sanic"))


@pytest.mark.parametrize("pin, extension", extensions.all_pins(), ids=lambda value: getattr(value, "name", ""))
def test_every_upstream_function_an_extension_depends_on_is_as_pinned(pin, extension):
    current = pin.current_digest()
    assert current == pin.digest, (
        f"{pin.name} has changed upstream ({VERSIONS}). It is pinned for: {extension}. "
        f"Re-check: {pin.recheck}. Then set its digest in rasa_server/extensions.py to {current!r}."
    )


def test_the_originals_were_captured_before_anything_was_patched():
    """The first pin of an attribute patch is the original it replaces: upstream's code, not ours."""
    for patch in extensions.PATCHES:
        if patch.name == "log_redaction":
            continue
        original = patch.pins[0].function
        assert original.__module__.split(".")[0] in UPSTREAM_PACKAGES, (patch.name, original.__module__)
        assert patch.what.endswith(original.__qualname__), patch.name
        assert patch.replacement.split(".")[0] == "rasa_server", patch.name


def test_every_extension_says_why_and_names_its_upstream_issue_or_the_missing_hook():
    for extension in (*extensions.PATCHES, *extensions.HOOKS):
        assert extension.why and extension.pins, extension.what
        assert extension.upstream.startswith(("https://github.com/RasaHQ/", extensions.NO_UPSTREAM_HOOK)), (
            extension.what
        )


@pytest.fixture
def uninstalled():
    """No patch applied during the test; the patches in force before it are back after it."""
    before = extensions.installed()
    extensions.uninstall()
    yield
    extensions.uninstall()
    extensions.install(exclude={patch.name for patch in extensions.PATCHES if patch.name not in before})


def state(patch: extensions.Patch):
    """What a patch changes, as it is now."""
    return patch.current()


def test_install_logs_one_line_per_patch_and_a_second_install_changes_nothing(uninstalled, caplog):
    originals = [state(patch) for patch in extensions.PATCHES]
    with caplog.at_level(logging.INFO, logger="rasa_server.extensions"):
        extensions.install()
    lines = [record.getMessage() for record in caplog.records if record.name == "rasa_server.extensions"]
    assert lines == [f"Rasa extension: {patch.what} ({patch.why})" for patch in extensions.PATCHES]
    patched = [state(patch) for patch in extensions.PATCHES]
    assert all(now is not before for now, before in zip(patched, originals, strict=True))

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rasa_server.extensions"):
        extensions.install()
    assert [record for record in caplog.records if record.name == "rasa_server.extensions"] == []
    assert all(again is now for again, now in zip([state(patch) for patch in extensions.PATCHES], patched, strict=True))

    extensions.uninstall()
    assert all(
        now is before for now, before in zip([state(patch) for patch in extensions.PATCHES], originals, strict=True)
    )


def test_a_patch_left_out_is_not_installed(uninstalled):
    from rasa.core.processor import MessageProcessor

    rasas_own = MessageProcessor.parse_message
    extensions.install(exclude={"nlu_thread"})
    assert MessageProcessor.parse_message is rasas_own
    assert "nlu_thread" not in extensions.installed() and "button_payloads" in extensions.installed()


def test_a_conversation_read_back_gets_the_event_classes_rasas_own_lookup_gives(uninstalled):
    from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
    from rasa.shared.utils.common import all_subclasses

    stored = [
        event.as_dict()
        for event in (
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered("hola", {"name": "greet", "confidence": 0.9}),
            SlotSet("language", "es"),
            BotUttered("¡Hola!"),
        )
    ]
    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    rasas = [Event.from_parameters(event) for event in stored], [Event.resolve_by_type(name) for name in names]

    extensions.install()

    assert "event_types" in extensions.installed()
    ours = [Event.from_parameters(event) for event in stored], [Event.resolve_by_type(name) for name in names]
    assert ours == rasas
    assert [type(event) for event in ours[0]] == [type(event) for event in rasas[0]]
    assert Event.resolve_by_type("topic") is None and Event.resolve_by_type("unheard_of", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("unheard_of")


def test_importing_the_channels_installs_every_patch():
    import channels  # noqa: F401  (what `rasa run` does when it loads the credentials file)

    assert extensions.installed() == [patch.name for patch in extensions.PATCHES]


def upstream_names(tree: ast.Module):
    """The names a module imports from the upstream packages."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names
                      if alias.name.split(".")[0] in UPSTREAM_PACKAGES}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UPSTREAM_PACKAGES:
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def root_name(node: ast.expr):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def test_no_module_patches_an_upstream_object_outside_the_list():
    """An assignment to an attribute of an imported Rasa / rasa_sdk / socketio / Sanic class or
    module (or setattr on one, or a new logging record factory) belongs in rasa_server/extensions.py."""
    found = []
    for package in EXTENSION_PACKAGES:
        for path in sorted((PROJECT_DIR / package).rglob("*.py")):
            if path == PROJECT_DIR / "rasa_server" / "extensions.py":
                continue
            tree = ast.parse(path.read_text())
            imported = upstream_names(tree)
            for node in ast.walk(tree):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                    node, (ast.AugAssign, ast.AnnAssign)) else []
                for target in targets:
                    if isinstance(target, ast.Attribute) and root_name(target) in imported:
                        found.append(f"{path.relative_to(PROJECT_DIR)}:{node.lineno} {ast.unparse(target)}")
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
                    if node.args and root_name(node.args[0]) in imported:
                        found.append(f"{path.relative_to(PROJECT_DIR)}:{node.lineno} setattr")
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "logging.setLogRecordFactory":
                    if path != PROJECT_DIR / "rasa_server" / "log_redaction.py":  # listed: the log_redaction patch
                        found.append(f"{path.relative_to(PROJECT_DIR)}:{node.lineno} setLogRecordFactory")
    assert found == []
