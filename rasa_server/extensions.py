"""Every way this project extends Rasa, rasa_sdk and python-socketio: one list, installed in one place.

Two kinds:
- PATCHES change an upstream object in the Rasa server's process, because Rasa 3.6 offers no hook
  there. install() applies them, each once, in this order, and logs one line for each:
  "Rasa extension: <what> (<why>)".
- HOOKS use an extension point Rasa or rasa_sdk offer (a channel class in credentials.yml, a
  response generator, tracker store or lock store class in endpoints*.yml, rasa_sdk's plugin
  package): nothing is installed, the configuration names them.

Where it runs: `rasa run` imports the channel classes listed in credentials.yml (channels.*) while it
starts, before it makes its HTTP app and loads the agent; channels/__init__.py calls install(). That
one call is the only place the patches are installed, so they are in force in every Rasa server
started with this project's credentials files (`make run`, Docker, plain `rasa run`). Commands that
load no channel of credentials.yml (`rasa shell` and `rasa interactive` use Rasa's own console
channels, `rasa test` none) run with Rasa unpatched: a developer's console, not a visitor's channel.

One more change to how Rasa runs is not in this list, because it must come before Rasa is imported:
serving without TensorFlow (rasa_server/without_tensorflow.py, installed by scripts/rasa_run.py).

Each extension names the upstream functions it replaces, re-implements or relies on (Pin), with a
digest of their source as installed (Rasa 3.6.21, rasa_sdk 3.6.2, python-socketio 5.18.1). The
originals of the patched functions are captured when this module is imported, before anything is
patched. tests/test_rasa_extensions.py fails, naming the function and what to re-check, as soon as
an upgrade changes one of them; install() also logs a warning for each at start.
"""
import hashlib
import inspect
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Dict, List, Tuple

import rasa.core.channels.channel
import rasa.server
import rasa.shared.utils.common
import rasa_sdk.endpoint
import socketio
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.facebook import FacebookInput
from rasa.core.channels.rest import RestInput
from rasa.core.channels.slack import SlackInput
from rasa.core.channels.socketio import SocketIOInput
from rasa.core.channels.telegram import TelegramInput
from rasa.core.channels.twilio import TwilioInput
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

from rasa_server import (
    action_calls,
    button_payloads,
    http_api_checks,
    log_redaction,
    nlu_thread,
    paused_crisis,
    tracker_store,
)

logger = logging.getLogger(__name__)

NO_UPSTREAM_HOOK = "no upstream hook"


@dataclass(frozen=True)
class Pin:
    """An upstream function an extension replaces, re-implements or relies on, pinned by the first 16
    hex digits of the SHA-256 of its source."""

    function: Callable[..., Any]
    digest: str
    recheck: str  # what to verify in the new version before updating the digest

    @property
    def name(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"

    def current_digest(self) -> str:
        return hashlib.sha256(inspect.getsource(self.function).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Patch:
    """A change to an upstream object, made by install()."""

    name: str  # short, for install(exclude=...)
    what: str  # the upstream target
    replacement: str  # our code
    why: str
    upstream: str  # the upstream issue or pull request, or NO_UPSTREAM_HOOK
    apply: Callable[[], None] = field(repr=False)
    revert: Callable[[], None] = field(repr=False)
    current: Callable[[], Any] = field(repr=False)  # what the patch changes, as it is now
    pins: Tuple[Pin, ...] = ()


@dataclass(frozen=True)
class Hook:
    """An upstream extension point this project uses; configured, never installed."""

    what: str  # the extension point and where it is configured
    ours: str  # our code
    why: str
    upstream: str
    pins: Tuple[Pin, ...] = ()


def _dotted(owner: Any) -> str:
    """`package.module` for a module, `package.module.Class` for a class."""
    return owner.__name__ if inspect.ismodule(owner) else f"{owner.__module__}.{owner.__qualname__}"


def replace(
    name: str, owner: Any, attribute: str, replacement: Callable[..., Any], *, why: str, upstream: str,
    digest: str, recheck: str, also: Tuple[Pin, ...] = (),
) -> Patch:
    """A patch setting `owner.attribute` (a class's or a module's own) to `replacement`; the original,
    captured now, is pinned."""
    original = vars(owner)[attribute]
    if original is replacement:
        raise RuntimeError(f"{_dotted(owner)}.{attribute} was patched before rasa_server.extensions was imported")
    return Patch(
        name=name,
        what=f"{_dotted(owner)}.{attribute}",
        replacement=f"{replacement.__module__}.{replacement.__qualname__}",
        why=why,
        upstream=upstream,
        apply=lambda: setattr(owner, attribute, replacement),
        revert=lambda: setattr(owner, attribute, original),
        current=lambda: vars(owner)[attribute],
        pins=(Pin(original, digest, recheck), *also),
    )


PATCHES: Tuple[Patch, ...] = (
    Patch(
        name="log_redaction",
        what="logging.setLogRecordFactory and logging.captureWarnings (every logger of the process)",
        replacement="rasa_server.log_redaction.VisitorTextFilter",
        why="visitor text kept out of every log record; first, so that it sees them all",
        upstream=f"{NO_UPSTREAM_HOOK} (Rasa logs message text, e.g. its payload parser's warnings; Python's "
                 "own logging.setLogRecordFactory is the hook used)",
        apply=log_redaction.install,
        revert=log_redaction.uninstall,
        current=logging.getLogRecordFactory,
        pins=(Pin(
            YAMLStoryReader.unpack_regex_message, "bf81f8a66c2c3e52",
            "the warnings it logs still quote the line as \"Failed/Invalid to parse arguments in line '...'\" "
            "(log_redaction.PAYLOAD_PARSER_WARNING); button_payloads.payload_parse also calls it",
        ),),
    ),
    replace(
        "action_result_check", RemoteAction, "_validate_action_result", action_calls._validate_action_result,
        why="the action server's reply checked with a validator built once: ~3 ms instead of ~50 ms per call",
        upstream=NO_UPSTREAM_HOOK,
        digest="f8cdb4be68123961",
        recheck="it still validates against RemoteAction.action_response_format_spec() and raises "
                "ValidationError with the same message; if Rasa now caches its validator, drop this patch",
    ),
    replace(
        "action_failures", RemoteAction, "run", action_calls._run_noting_failures,
        why="a failed action-server call noted so that the visitor is answered; a failed session start "
            "replaced by Rasa's default one",
        upstream="https://github.com/RasaHQ/rasa/issues/7630 (action server failure handling, open)",
        digest="ccabf6f1160d527a",
        recheck="a failed call still raises (RasaException / ActionExecutionRejection) and Rasa still discards "
                "that action's events; the signature (output_channel, nlg, tracker, domain) is unchanged",
    ),
    replace(
        "button_payloads", MessageProcessor, "_parse_message_with_graph", button_payloads._parse_payloads_directly,
        why="only the assistant's own button payloads count as intents from visitors; those skip the NLU",
        upstream="https://github.com/RasaHQ/rasa/issues/5075 (user text starting with '/' is taken as an intent; "
                 "closed as intended)",
        digest="0bd50a53b5c013af",
        recheck="it still returns the NLU parse as a dict with text, intent, entities, intent_ranking, "
                "message_id and metadata, and RegexMessageHandler still overrides the intent of a payload",
    ),
    replace(
        "nlu_thread", MessageProcessor, "parse_message", nlu_thread._parse_message_off_loop,
        why="the NLU models run in a worker thread, so the event loop keeps serving other visitors",
        upstream=NO_UPSTREAM_HOOK,
        digest="b98d8e49b9f2c433",
        recheck="without http_interpreter it still awaits nothing (a private event loop in the worker "
                "completes it) and touches no state of the event loop's thread",
    ),
    replace(
        "paused_crisis", MessageProcessor, "_should_handle_message",
        staticmethod(paused_crisis._should_handle_message_noting_crisis),
        why="a crisis message in a conversation paused for staff noted, so that it gets the crisis response "
            "or the check-in while the visitor waits for a person (rasa_server.message_guard runs it)",
        upstream=NO_UPSTREAM_HOOK,
        digest="e62818f15e2dd228",
        recheck="it is still the check that keeps a paused conversation from predicting (only a restart "
                "passes), called in _run_prediction_loop after the message is logged",
        also=(Pin(
            MessageProcessor.execute_action, "7c04ef7b374e556e",
            "paused_crisis.answer still runs one action with it, with the conversation's tracker read, the "
            "action run whether or not the conversation is paused, and the tracker saved",
        ),),
    ),
    replace(
        "http_api_checks", rasa.server, "create_app", http_api_checks._create_app_with_checks,
        why="a 400 instead of a 500 for malformed bodies sent to the HTTP API, after Rasa's own authentication",
        upstream="https://github.com/RasaHQ/rasa/issues/8481 (500 for a JSON list sent to a webhook)",
        digest="3f241a21aeb8f727",
        recheck="rasa.core.run still calls it as `server.create_app(...)` at start (not imported by name), "
                "with an `auth_token` argument, and the endpoints of http_api_checks.BODY_FIELDS still read "
                "those fields",
        also=(Pin(
            rasa.server.requires_auth, "b90315c4ea48b28b",
            "http_api_checks.caller_check still gets Rasa's own 401/403 decision from it (ErrorResponse raised)",
        ),),
    ),
    replace(
        "event_types", Event, "resolve_by_type", staticmethod(tracker_store.resolve_event_type_once),
        why="each event name's class looked up once, not by walking every Event subclass for every event "
            "of a conversation read back from the tracker store",
        upstream=NO_UPSTREAM_HOOK,
        digest="b5cf570fa7f286c7",
        recheck="it still returns the first class of rasa.shared.utils.common.all_subclasses(Event) with that "
                "type_name, None for 'topic', else the default, else raises ValueError",
        also=(Pin(
            rasa.shared.utils.common.all_subclasses, "28c2e6df9c15daea",
            "it still lists only the subclasses imported so far (so a result remembered stays right while no "
            "Event subclass is defined later)",
        ),),
    ),
    replace(
        "tracker_store_errors", FailSafeTrackerStore, "on_tracker_store_error",
        tracker_store.raise_instead_of_falling_back,
        why="a tracker-store error raised (the visitor is asked to try again), not hidden behind an "
            "empty in-memory conversation",
        upstream="https://github.com/RasaHQ/rasa/issues/3243 (the fallback's origin; a 2025 comment asks to fail "
                 "instead), https://github.com/RasaHQ/rasa/pull/4699",
        digest="6faca7ba72b36da4",
        recheck="FailSafeTrackerStore.save and .keys still call it on error, and Agent still wraps every "
                "tracker store in FailSafeTrackerStore without an on_tracker_store_error callback",
    ),
    replace(
        "tracker_store_retrieve_errors", FailSafeTrackerStore, "on_tracker_store_retrieve_error",
        tracker_store.raise_instead_of_falling_back,
        why="a tracker-store read error raised, not answered with a new, empty conversation",
        upstream="https://github.com/RasaHQ/rasa/issues/3243",
        digest="162b49564c52ab49",
        recheck="FailSafeTrackerStore.retrieve and .retrieve_full_tracker still call it on error",
    ),
)

HOOKS: Tuple[Hook, ...] = (
    Hook(
        what="channel classes in credentials.yml / credentials.env.yml: the `on_new_message` each "
             "channel's blueprint hands messages to",
        ours="rasa_server.message_guard.ChannelHandler -> handle_message (channels/rest.py, socketio.py, "
             "webhook_guard.py)",
        why="every visitor message cleaned, limited, marked as a visitor's and kept out of the logs; a reply "
            "instead of silence when the action server, Redis or the database fails",
        upstream="https://github.com/RasaHQ/rasa/issues/7630, https://github.com/RasaHQ/rasa/issues/5588 "
                 "(no reply when an action fails)",
        pins=(
            Pin(Agent.handle_message, "ba53507e4d5532a3",
                "message_guard.handle_message re-implements it: readiness check, the conversation's lock "
                "(lock_store.lock), processor.handle_message"),
            Pin(rasa.core.channels.channel.register, "f6dc783f1ad3638e",
                "the handler it gives channels still only calls app.ctx.agent.handle_message; ChannelHandler "
                "is used in its place"),
        ),
    ),
    Hook(
        what="Socket.IO channel (credentials: channels.socketio.OriginCheckedSocketIOInput): its own blueprint",
        ours="channels.socketio.OriginCheckedSocketIOInput.blueprint",
        why="origin check on, Redis message queue for several replicas, per-IP limits, session ids checked, "
            "the session's room joined with await",
        upstream="https://github.com/RasaHQ/rasa/issues/13027, https://github.com/RasaHQ/rasa/pull/13168 "
                 "(enter_room not awaited)",
        pins=(
            Pin(SocketIOInput.blueprint, "1246d69fa05c3b1f",
                "OriginCheckedSocketIOInput.blueprint re-implements it: handlers connect (JWT), disconnect, "
                "session_request, the user message event; the health route; self.sio"),
            Pin(socketio.AsyncServer.enter_room, "69bba99d7c27aaeb",
                "it is still a coroutine (awaited in session_request)"),
        ),
    ),
    Hook(
        what="REST channel (credentials: channels.rest.CheckedRestInput)",
        ours="channels.rest.CheckedRestInput",
        why="a 400 for malformed bodies, a sender required, the input channel always 'rest', per-IP limit",
        upstream="https://github.com/RasaHQ/rasa/issues/8481",
        pins=(
            Pin(RestInput._extract_input_channel, "ca08e7f6dc2980a5", "CheckedRestInput overrides it"),
            Pin(RestInput.blueprint, "886a9338e4c2505a",
                "its handler still reads the sender, message and metadata from the parsed JSON body that "
                "the blueprint's request middleware checked"),
        ),
    ),
    Hook(
        what="messaging channels (credentials.env.yml: channels.facebook, slack, twilio, telegram)",
        ours="channels/webhook_guard.py and the channel modules",
        why="requests the platform did not sign refused (403), replies that fail fast and do not lose the "
            "conversation, buttons as numbered options over SMS",
        upstream=NO_UPSTREAM_HOOK + " for SHA-256 signatures and Telegram's secret token",
        pins=(
            Pin(FacebookInput.blueprint, "c604c2390fa9bca7",
                "SignedFacebookInput.on_authentic_post replaces its webhook POST handler (SHA-256 signature, "
                "FailSoftMessenger)"),
            Pin(SlackInput._validate_credentials, "dc6df6dc840bc01b",
                "SignedSlackInput skips it (a channel without secrets refuses requests instead)"),
            Pin(TwilioInput.blueprint, "dd3666f0f6247aab",
                "its handler still reads request.form['Body'] (SignedTwilioInput puts a numbered reply's "
                "payload there first)"),
            Pin(TelegramInput.get_output_channel, "7dbcf3c1d236777c",
                "SecretTokenTelegramInput re-implements it to register the webhook's secret token"),
        ),
    ),
    Hook(
        what="response generator (endpoints*.yml nlg: type rasa_server.nlg.FirstMatchResponseGenerator)",
        ours="rasa_server.nlg.FirstMatchResponseGenerator",
        why="the first response variation whose conditions hold, so a Spanish visitor gets the Spanish text",
        upstream=NO_UPSTREAM_HOOK + " for choosing among conditional variations (Rasa picks at random)",
        pins=(
            Pin(TemplatedNaturalLanguageGenerator._random_response_for, "2bb895cb8931467a",
                "FirstMatchResponseGenerator overrides it"),
            Pin(ResponseVariationFilter.responses_for_utter_action, "97a94d33cedf050a",
                "it still returns the conditional variations whose conditions hold, in the domain's order"),
        ),
    ),
    Hook(
        what="tracker store classes (endpoints.yml: PrivateSQLiteTrackerStore; endpoints.production.yml: "
             "ReconnectingSQLTrackerStore)",
        ours="rasa_server.tracker_store",
        why="the local SQLite file's folder made and the file private; PostgreSQL connections that survive "
            "a database restart",
        upstream=NO_UPSTREAM_HOOK + " for pool_pre_ping",
        pins=(
            Pin(SQLTrackerStore.__init__, "64e704d159dfa35b",
                "it still builds self.engine and self.sessionmaker from (dialect, host, port, db, ...)"),
        ),
    ),
    Hook(
        what="lock store class (endpoints.production.yml: rasa_server.lock_store.AtomicRedisLockStore)",
        ours="rasa_server.lock_store.AtomicRedisLockStore",
        why="each change of a conversation's lock one Redis transaction, so two replicas never both serve it",
        upstream="https://github.com/RasaHQ/rasa/pull/11256 (a concurrent Redis lock store; not in Rasa Open "
                 "Source 3.6)",
        pins=(
            Pin(LockStore.issue_ticket, "4dfdfb5e62c1dda9", "AtomicRedisLockStore overrides it"),
            Pin(LockStore.update_lock, "d56816a13451e7a5", "AtomicRedisLockStore overrides it"),
            Pin(LockStore.finish_serving, "ba76ac5a486b97dd", "AtomicRedisLockStore overrides it"),
            Pin(LockStore.cleanup, "f2ba1745c8153f92", "AtomicRedisLockStore overrides it"),
            Pin(LockStore.lock, "8b9b716c031a3444",
                "it still takes a lock only through issue_ticket, update_lock and finish_serving"),
            Pin(RedisLockStore.__init__, "829e898a8cddff8d",
                "its arguments (host, port, db, password, key_prefix, ...) and self.red, self.key_prefix"),
        ),
    ),
    Hook(
        what="action server plugin (rasa_sdk's plugin discovery: the rasa_sdk_plugins package)",
        ours="rasa_sdk_plugins.ActionServerInputChecks",
        why="only the Rasa server may call (ACTION_SERVER_TOKEN), clear 4xx for bad input, a 500 that does "
            "not echo the tracker back",
        upstream=NO_UPSTREAM_HOOK + " for authentication in rasa_sdk 3.6",
        pins=(
            Pin(rasa_sdk.endpoint.create_app, "4f0ea292cb96d1f8",
                "its error handler (replaced by the plugin's) and routes /health and /webhook"),
            Pin(rasa_sdk.endpoint.run, "ac4e6e2f144dc0ce",
                "the plugin hook still runs before SANIC_HOST is read (the plugin sets its default)"),
        ),
    ),
)

_installed: Dict[str, Patch] = {}


def install(exclude: Collection[str] = ()) -> None:
    """Applies every patch not yet applied (but those named in `exclude`), in order, logging one line
    each; then warns about any pinned upstream function that changed. A second call changes nothing."""
    applied = False
    for patch in PATCHES:
        if patch.name in _installed or patch.name in exclude:
            continue
        patch.apply()
        _installed[patch.name] = patch
        applied = True
        logger.info("Rasa extension: %s (%s)", patch.what, patch.why)
    if applied:
        for pin, extension in changed_upstream():
            logger.warning(
                "Rasa extension: %s has changed upstream since it was pinned (%s); re-check: %s",
                pin.name, extension, pin.recheck,
            )


def uninstall() -> None:
    """Reverts every applied patch, last first (tests)."""
    for patch in reversed(PATCHES):
        if _installed.pop(patch.name, None) is not None:
            patch.revert()


def installed() -> List[str]:
    return list(_installed)


def all_pins() -> List[Tuple[Pin, str]]:
    """Every pinned upstream function, with the extension that depends on it."""
    return [(pin, extension.what) for extension in (*PATCHES, *HOOKS) for pin in extension.pins]


def changed_upstream() -> List[Tuple[Pin, str]]:
    changed = []
    for pin, extension in all_pins():
        try:
            if pin.current_digest() != pin.digest:
                changed.append((pin, extension))
        except (OSError, TypeError):  # no source to read (a stripped install): nothing to compare
            continue
    return changed
