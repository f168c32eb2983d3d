"""Serving speed: simulated visitors over REST and socket.io, and where a round trip's time goes.

Each visitor holds one conversation, as on the website: a greeting, 3-5 FAQ questions (held-out
phrasings), then a consultation booked from start to confirmation; every other visitor does it in
Spanish (tests/heldout_es/ questions, Spanish greeting and times). A level runs N such visitors at
once, each starting a new conversation when one ends, until its time or conversation budget is
spent. A message's round trip runs from sending it until the last reply has arrived: the REST
response, or for socket.io the acknowledgement the server sends after its last `bot_uttered`.
Timeouts, refused connections, HTTP errors, messages without a reply and bookings that end without
a reference code all count as errors.

What visitors say is a `Visits` object: `ClinicVisits` (above) by default; bench/stock_bot.py has the
stock `rasa init` bot's own (greetings and moods), driven by the same levels and load generator.
"""
import asyncio
import itertools
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Protocol, Sequence

import aiohttp
import numpy as np
import socketio

from bench import HELDOUT_DIRS, LANGUAGES, PROJECT_DIR
from clinic import settings
from scripts.evaluate_nlu import heldout_examples
from scripts.live_stack import LiveAssistant

MESSAGE_TIMEOUT = 30.0
CHANNELS = ("rest", "socketio")
REFERENCE_CODE = re.compile(r"TC-[0-9A-Z]{6}")
# What a visitor types besides the FAQ questions and the buttons, per language: greeting, times.
TYPED = {"en": ("hello", "weekday mornings"), "es": ("hola", "entre semana por la mañana")}


def faq_questions(language: str = "en") -> List[str]:
    return [text for text, label in heldout_examples(HELDOUT_DIRS[language]) if label.startswith("faq/")]


def visitor_language(number: int, languages: Sequence[str] = tuple(LANGUAGES)) -> str:
    """Visitors take the languages in turn: every other one is Spanish."""
    return languages[number % len(languages)]


def visitor_script(rng: random.Random, questions: List[str], number: int, language: str = "en") -> List[str]:
    greeting, times = TYPED[language]
    return [
        greeting,
        *rng.sample(questions, rng.randint(3, 5)),
        "/book_consultation",
        "Maria Lopez",
        f"509-555-01{number % 100:02d}",
        times,
        '/inform{"help_with": "anxiety"}',
        "/affirm",  # consent to be contacted
        "/affirm",  # confirm the summary
    ]


class Visits(Protocol):
    """What one bot's visitors say, and how a whole visit is known to have reached its end."""

    languages: Sequence[str]  # visitors take them in turn
    unfinished: str  # the error counted when a visit's last replies do not show its end

    def script(self, rng: random.Random, number: int, language: str) -> List[str]:
        """Visitor number `number`'s messages, in order."""

    def finished(self, last_replies: str) -> bool:
        """Whether the text of the last message's replies shows the visit's end."""


class ClinicVisits:
    """This assistant's visitors: a greeting, held-out FAQ questions, a booking confirmed."""

    languages = tuple(LANGUAGES)
    unfinished = "booking not confirmed"

    def __init__(self) -> None:
        self.questions = {language: faq_questions(language) for language in self.languages}

    def script(self, rng: random.Random, number: int, language: str) -> List[str]:
        return visitor_script(rng, self.questions[language], number, language)

    @staticmethod
    def finished(last_replies: str) -> bool:
        return bool(REFERENCE_CODE.search(last_replies))


class RestVisitor:
    def __init__(self, server_url: str, http: aiohttp.ClientSession, sender: str) -> None:
        self.url, self.http, self.sender = f"{server_url}/webhooks/rest/webhook", http, sender

    async def open(self) -> None:
        pass

    async def send(self, text: str) -> List[Dict[str, Any]]:
        async with self.http.post(self.url, json={"sender": self.sender, "message": text}) as response:
            response.raise_for_status()
            return await response.json()

    async def close(self) -> None:
        pass


class SocketVisitor:
    """The website widget's protocol: polling transport, an allowed Origin, a persistent session."""

    def __init__(self, assistant: LiveAssistant, session_id: str) -> None:
        self.url, self.session_id = assistant.url, session_id
        self.http = aiohttp.ClientSession()
        # request_timeout: python-engineio gives up on a poll after 5 s and drops the connection; the
        # browser's client waits, so a busy server shows up as slow replies, not lost connections.
        self.client = socketio.AsyncClient(reconnection=False, http_session=self.http, request_timeout=MESSAGE_TIMEOUT)
        self.replies: List[Dict[str, Any]] = []
        self.client.on("bot_uttered", self.replies.append)

    async def open(self) -> None:
        confirmed = asyncio.Event()
        self.client.on("session_confirm", lambda _: confirmed.set())
        origin = settings.get("ALLOWED_ORIGINS").split(",")[0].strip()
        await self.client.connect(
            self.url, headers={"Origin": origin}, transports=["polling"], wait_timeout=MESSAGE_TIMEOUT
        )
        await self.client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(confirmed.wait(), MESSAGE_TIMEOUT)

    async def send(self, text: str) -> List[Dict[str, Any]]:
        self.replies.clear()
        # The server acknowledges the message once it has handled it, after emitting every reply.
        await self.client.call(
            "user_uttered", {"message": text, "session_id": self.session_id}, timeout=MESSAGE_TIMEOUT
        )
        return list(self.replies)

    async def close(self) -> None:
        """Leaves as the browser widget does: says goodbye, then drops its pending long-poll.

        python-engineio's disconnect() alone waits for that poll to end, i.e. for the server's next
        ping, up to 25 s later.
        """
        if self.client.connected:
            leaving = asyncio.ensure_future(self.client.disconnect())
            if self.client.eio.write_loop_task:  # None if the connection already broke
                await self.client.eio.write_loop_task  # ends once the goodbye has been posted
            await self.http.close()  # ends the pending long-poll
            await leaving
        await self.http.close()


def describe(error: BaseException) -> str:
    if isinstance(error, (asyncio.TimeoutError, socketio.exceptions.TimeoutError)):
        return "timeout"
    if isinstance(error, aiohttp.ClientResponseError):
        return f"HTTP {error.status}"
    return type(error).__name__


@dataclass
class LevelResult:
    channel: str
    visitors: int
    think_seconds: float
    seconds: float = 0.0
    latencies: List[float] = field(default_factory=list)  # seconds, one per answered message
    language_latencies: Dict[str, List[float]] = field(  # the same, by the visitor's language
        default_factory=lambda: {language: [] for language in LANGUAGES}
    )
    errors: Counter = field(default_factory=Counter)
    conversations_started: int = 0
    bookings_confirmed: int = 0
    peak_rss_kb: Dict[str, int] = field(default_factory=dict)

    def latency_ms(self, percentile: float, language: Optional[str] = None) -> float:
        """Over every answered message, or over those of one language's visitors."""
        latencies = self.latencies if language is None else self.language_latencies.get(language, [])
        return float(np.percentile(latencies, percentile)) * 1000 if latencies else float("nan")

    @property
    def messages_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


async def converse(
    visitor, script: List[str], think_seconds: float, deadline: float, result: LevelResult, language: str = "en",
    visits: Optional[Visits] = None,
) -> None:
    """One visitor's conversation; it stops at the first error or when the level's time is up."""
    result.conversations_started += 1
    try:
        try:
            await visitor.open()
            await talk(visitor, script, think_seconds, deadline, result, language, visits)
        finally:
            await visitor.close()
    except Exception as error:  # every failure is counted, none stops the level
        result.errors[describe(error)] += 1


async def talk(
    visitor, script: List[str], think_seconds: float, deadline: float, result: LevelResult, language: str,
    visits: Optional[Visits] = None,
) -> None:
    for index, text in enumerate(script):
        if index and think_seconds:
            await asyncio.sleep(think_seconds)
        if time.monotonic() >= deadline:
            return
        started = time.perf_counter()
        replies = await visitor.send(text)
        if not replies:
            result.errors["no reply"] += 1
            return
        result.latencies.append(time.perf_counter() - started)
        result.language_latencies[language].append(result.latencies[-1])
    ending = visits or ClinicVisits  # (finished and unfinished need no instance)
    if ending.finished(" ".join(reply.get("text") or "" for reply in replies)):
        result.bookings_confirmed += 1  # for another bot's visitors: visits that reached their end
    else:
        result.errors[ending.unfinished] += 1


async def run_level(
    assistant: Optional[LiveAssistant], channel: str, visitors: int, think_seconds: float,
    max_seconds: float, max_conversations: int, seed: int = 0, visits: Optional[Visits] = None,
    replica_urls: Sequence[str] = (),
) -> LevelResult:
    """One level. REST conversations go to `replica_urls` in turn (as a load balancer spreads visitors
    over Rasa replicas), or to the assistant's one server."""
    result = LevelResult(channel, visitors, think_seconds)
    servers = list(replica_urls) or [assistant.url]
    visits = visits or ClinicVisits()
    rng, numbers = random.Random(seed), itertools.count()
    run_id = f"{channel}-{visitors}-{think_seconds:g}-{int(time.time() * 1000)}"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=MESSAGE_TIMEOUT)) as http:
        started = time.monotonic()
        deadline = started + max_seconds

        async def visitor_loop(index: int) -> None:
            await asyncio.sleep(index * think_seconds / visitors)  # visitors arrive spread over one think time
            while time.monotonic() < deadline and (number := next(numbers)) < max_conversations:
                if channel == "rest":
                    visitor = RestVisitor(servers[number % len(servers)], http, f"bench-{run_id}-{number}")
                else:  # the widget's own kind of session id (channels/socketio.py refuses others)
                    visitor = SocketVisitor(assistant, uuid.uuid4().hex)
                language = visitor_language(number, visits.languages)
                script = visits.script(rng, number, language)
                await converse(visitor, script, think_seconds, deadline, result, language, visits)

        await asyncio.gather(*(visitor_loop(index) for index in range(visitors)))
        result.seconds = time.monotonic() - started
    return result


def server_processes(assistant: LiveAssistant) -> Dict[str, int]:
    """Process ids (scripts/live_stack.py starts the action server first; with_env.py execs Rasa in place).

    A bot without an action server (bench/stock_bot.py) has the Rasa server alone.
    """
    if len(assistant.processes) == 1:
        return {"Rasa server": assistant.processes[0].pid}
    return {"action server": assistant.processes[0].pid, "Rasa server": assistant.processes[1].pid}


def rasa_import_mib() -> float:
    """Resident memory of a fresh Python process that has imported Rasa's server as scripts/rasa_run.py does
    (without TensorFlow) and nothing else: the part of a Rasa server's memory no pipeline or model can take
    away."""
    code = (
        "import re; from rasa_server import without_tensorflow; without_tensorflow.install(); "
        "import rasa.core.agent; "
        "print(re.search(r'VmRSS:\\s+(\\d+) kB', open('/proc/self/status').read())[1])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=PROJECT_DIR, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return int(done.stdout.split()[-1]) / 1024


def reset_peak_rss(pids: Dict[str, int]) -> None:
    for pid in pids.values():
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def peak_rss_kb(pids: Dict[str, int]) -> Dict[str, int]:
    peaks = {}
    for name, pid in pids.items():
        status = Path(f"/proc/{pid}/status").read_text()
        peaks[name] = int(re.search(r"VmHWM:\s+(\d+) kB", status)[1])
    return peaks


def run_levels(
    assistant: LiveAssistant, levels: List[int], think_times: List[float], max_seconds: float, max_conversations: int,
    channels: Sequence[str] = CHANNELS, visits: Optional[Visits] = None, label: str = "",
) -> List[LevelResult]:
    """Every level, one after the other: each think time, each channel, each number of visitors.

    Each level is bounded by max_seconds and max_conversations (and every message by MESSAGE_TIMEOUT).
    """
    visits = visits or ClinicVisits()
    pids = server_processes(assistant)
    for channel in channels:  # warm-up, not measured: one visit in each language
        asyncio.run(run_level(assistant, channel, 1, 0.0, MESSAGE_TIMEOUT, len(visits.languages), visits=visits))
    results = []
    for think_seconds in think_times:
        for channel in channels:
            for visitors in levels:
                reset_peak_rss(pids)
                result = asyncio.run(
                    run_level(
                        assistant, channel, visitors, think_seconds, max_seconds, max_conversations, visits=visits
                    )
                )
                result.peak_rss_kb = peak_rss_kb(pids)
                results.append(result)
                print(
                    f"  {label}{channel:8} {visitors:3} visitors, think {think_seconds:g} s: "
                    f"p95 {result.latency_ms(95):.0f} ms, "
                    f"{result.messages_per_second:.1f} msg/s, {result.error_count} errors",
                    flush=True,
                )
    return results


async def component_timings(assistant: LiveAssistant, samples: int) -> Dict[str, List[float]]:
    """Each part of a round trip timed on its own through the HTTP APIs, one request at a time.

    The conversation timed against has just completed a whole visit, so its tracker is as long
    as a real one at the end of a booking.
    """
    import rasa

    sender = f"bench-breakdown-{int(time.time())}"
    questions = faq_questions()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=MESSAGE_TIMEOUT)) as http:
        visitor = RestVisitor(assistant.url, http, sender)
        for text in visitor_script(random.Random(1), questions, 0):
            await visitor.send(text)
        async with http.get(assistant.api("/domain"), headers={"Accept": "application/json"}) as response:
            domain = await response.json()
        async with http.get(assistant.api(f"/conversations/{sender}/tracker")) as response:
            tracker = await response.json()
        action_call = {
            "next_action": "action_session_start", "sender_id": sender, "tracker": tracker,
            "domain": domain, "version": rasa.__version__,
        }
        requests = {
            "NLU: POST /model/parse": lambda i: http.post(assistant.api("/model/parse"), json={"text": questions[i]}),
            "dialogue policy: POST /conversations/<id>/predict": (
                lambda i: http.post(assistant.api(f"/conversations/{sender}/predict"))
            ),
            "action server: POST /webhook (action_session_start)": (
                lambda i: http.post(
                    f"{assistant.actions_url}/webhook", json=action_call, headers=assistant.action_headers
                )
            ),
            "tracker store: GET /conversations/<id>/tracker": (
                lambda i: http.get(assistant.api(f"/conversations/{sender}/tracker"))
            ),
        }
        timings: Dict[str, List[float]] = {name: [] for name in requests}
        for index in range(samples):
            for name, request in requests.items():
                started = time.perf_counter()
                async with request(index) as response:
                    response.raise_for_status()
                    await response.read()
                timings[name].append(time.perf_counter() - started)
    return timings


# Where a profiled message's time goes: the outermost frame matching (file ending, function) wins.
PROFILE_PARTS = {
    "NLU (parse_message)": ("rasa/core/processor.py", "parse_message"),
    "dialogue policy (predict_next_with_tracker_if_should)": (
        "rasa/core/processor.py", "predict_next_with_tracker_if_should"
    ),
    "action server (HTTP calls, incl. its processing)": ("rasa/utils/endpoints.py", "request"),
    "checking the action server's replies (jsonschema)": ("rasa_server/action_calls.py", "_validate_action_result"),
    "tracker store (SQL)": ("rasa/core/tracker_store.py", None),
}
MINILM = ("nlu_components/minilm_encoder.py", "forward")
SHOWN_IN_TREE = r".*/(rasa|nlu_components|sqlalchemy)/.*"  # other libraries' frames are folded


@dataclass
class Profile:
    messages: int
    seconds: float
    parts: Dict[str, float]  # PROFILE_PARTS name -> seconds, plus "other" and the MiniLM share of NLU
    text: str  # pyinstrument's call tree


def frame_matches(frame, part) -> bool:
    file_ending, function = part
    return bool(frame.file_path and frame.file_path.endswith(file_ending)) and function in (None, frame.function)


def part_times(frame, totals: Dict[str, float]) -> None:
    for name, part in PROFILE_PARTS.items():
        if frame_matches(frame, part):
            totals[name] += frame.time
            totals["of which MiniLM encoder"] += sum(f.time for f in outermost(frame, MINILM))
            return
    for child in frame.children:
        part_times(child, totals)


def outermost(frame, part) -> List:
    if frame_matches(frame, part):
        return [frame]
    return [found for child in frame.children for found in outermost(child, part)]


def profile_visit(assistant: LiveAssistant, model_path: str) -> Optional[Profile]:
    """One whole visit through Rasa's own request path, in this process, under pyinstrument.

    Same model, endpoints.env.yml (the live stack's SQLite tracker store and action server) and
    message handling as the server, minus the HTTP channel. None if pyinstrument is not installed.
    """
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    import os

    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints

    from rasa_server import extensions
    from rasa_server.message_guard import handle_message

    # The server's own message path (rasa_server/extensions.py, and each message through the guard
    # as the channels hand it on), but with the NLU on the event loop: pyinstrument follows this
    # thread only, and the worker thread changes where the NLU runs, not what it costs.
    extensions.install(exclude={"nlu_thread"})

    names = ("TRACKER_DB_PATH", "ACTION_ENDPOINT_URL", "ACTION_SERVER_TOKEN")
    os.environ.update({name: assistant.env[name] for name in names})
    script = visitor_script(random.Random(2), faq_questions(), 0)

    async def visit() -> Profile:
        agent = await load_agent(
            model_path=model_path, endpoints=AvailableEndpoints.read_endpoints("endpoints.env.yml")
        )
        await handle_message(
            agent, UserMessage("hello", CollectingOutputChannel(), f"bench-profile-warmup-{time.time()}")
        )
        sender = f"bench-profile-{time.time()}"
        with Profiler(async_mode="enabled") as profiler:
            for text in script:
                await handle_message(agent, UserMessage(text, CollectingOutputChannel(), sender))
        root = profiler.last_session.root_frame()
        totals = Counter({name: 0.0 for name in [*PROFILE_PARTS, "of which MiniLM encoder"]})
        part_times(root, totals)
        totals["other (rules, forms, events, channel)"] = root.time - sum(totals[name] for name in PROFILE_PARTS)
        tree = profiler.output_text(
            unicode=True, processor_options={"show_regex": SHOWN_IN_TREE, "filter_threshold": 0.015}
        )
        return Profile(len(script), root.time, dict(totals), tree)

    return asyncio.run(visit())
