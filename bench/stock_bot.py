"""The stock Rasa bot that serving speed is measured against, side by side (issue #17).

Built by the bench itself, offline: `rasa init --no-prompt` writes Rasa's initial project (the
"moodbot": greetings, moods, "are you a bot?", goodbye) with Rasa's default config, and trains its
model at once. Nothing in it is changed. The build is kept under var/bench/stock_bot/rasa-<version>/
(git-ignored) and reused by later runs with the same Rasa version.

Served as Rasa ships it: `rasa run --enable-api` in its own folder, on 127.0.0.1 at a free port, with
its own credentials.yml (the `rest` channel, enabled by `rasa init`) and endpoints.yml (nothing set:
in-memory tracker and lock stores, no action server; the moodbot has no custom action). Its
environment is a clean one, none of this project's settings (only PATH, HOME, the locale, telemetry
off), and its API is behind a random token passed inside the process, as scripts/rasa_run.py does.

Its visitors say the moodbot's own kind of things, in the same shape as this assistant's visitors
(bench/load.py): a greeting, a few moods (a sad one answered with yes or no when the bot asks "Did that
help you?"), "are you a bot?", goodbye. Messages are phrased apart from its training examples where
the moodbot's tiny training data allows.
"""
import fcntl
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Dict, List

from bench import PROJECT_DIR
from scripts.live_stack import LiveAssistant, free_port, private_log, wait_until_up

STOCK_DIR = PROJECT_DIR / "var" / "bench" / "stock_bot"
BUILT = "bench-build.json"  # written last: a folder without it is an unfinished build
BUILD_SECONDS = 1800  # `rasa init` trains DIET and TED; a few minutes on 2 cores
# `rasa run` inside this process with the API token from the environment (never on a command line).
SERVE = (
    "import os, sys; from rasa.__main__ import main; "
    "sys.argv = ['rasa', 'run', *sys.argv[1:], '--enable-api', '--auth-token=' + os.environ.pop('STOCK_BOT_TOKEN')]; "
    "main()"
)


def rasa_version() -> str:
    return metadata.version("rasa")


def stock_env(**extra: str) -> Dict[str, str]:
    """A clean environment: none of this project's settings (Sanic reads every SANIC_* variable, for one)."""
    kept = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    return {
        **kept,
        "RASA_TELEMETRY_ENABLED": "false",  # offline, and no usage data sent anywhere
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        **extra,
    }


def build_info(bot_dir: Path) -> Dict:
    return json.loads((bot_dir / BUILT).read_text())


def build(cache_dir: Path = STOCK_DIR) -> Path:
    """The stock bot's folder, built with `rasa init --no-prompt` unless this Rasa version's is there.

    One build at a time (a lock file); a build that fails or is cut off leaves no cached bot behind.
    """
    version = rasa_version()
    bot_dir = cache_dir / f"rasa-{version}"
    if (bot_dir / BUILT).exists():
        return bot_dir
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (bot_dir / BUILT).exists():  # built by another run while this one waited
            return bot_dir
        print(f"Building the stock Rasa bot (rasa init, Rasa {version}) into {bot_dir}...", flush=True)
        work = Path(tempfile.mkdtemp(prefix=f".rasa-{version}-", dir=cache_dir))
        try:
            started = time.monotonic()
            command = [str(Path(sys.executable).parent / "rasa"), "init", "--no-prompt", "--init-dir", "."]
            with private_log(cache_dir / f"build-rasa-{version}.log") as log:
                subprocess.run(
                    command, cwd=work, check=True, stdout=log, stderr=subprocess.STDOUT, timeout=BUILD_SECONDS,
                    # Rasa's training cache off: it would fill the bot's folder with a copy of every part.
                    env=stock_env(RASA_MAX_CACHE_SIZE="0"),
                )
            seconds = time.monotonic() - started
            models = sorted((work / "models").glob("*.tar.gz"))
            if not models:
                raise RuntimeError(f"`rasa init` trained no model: see {cache_dir / f'build-rasa-{version}.log'}")
            check_rest_channel(work)
            (work / BUILT).write_text(json.dumps({
                "rasa": version, "command": "rasa init --no-prompt", "seconds": round(seconds, 1),
                "built": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "model": models[-1].name,
                "cores": os.cpu_count(),
            }, indent=2))
            if bot_dir.exists():  # an older unfinished build
                shutil.rmtree(bot_dir)
            work.rename(bot_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(f"Stock bot built in {seconds / 60:.1f} min.", flush=True)
    return bot_dir


def check_rest_channel(bot_dir: Path) -> None:
    """The REST channel the load generator uses: `rasa init` enables it (`rest:`); never edited here."""
    import yaml

    credentials = yaml.safe_load((bot_dir / "credentials.yml").read_text()) or {}
    if "rest" not in credentials:
        raise RuntimeError(f"{bot_dir / 'credentials.yml'} does not enable the `rest` channel")


def start(bot_dir: Path, log_dir: Path) -> LiveAssistant:
    """`rasa run --enable-api` in the stock bot's folder; stop() it when done."""
    port, token = free_port(), secrets.token_hex(24)
    log = log_dir / "stock-rasa.log"
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "--interface", "127.0.0.1", "--port", str(port)],
        cwd=bot_dir, env=stock_env(STOCK_BOT_TOKEN=token), stdout=private_log(log), stderr=subprocess.STDOUT,
    )
    bot = LiveAssistant(f"http://127.0.0.1:{port}", "", token, log_dir, {}, [process])
    try:
        wait_until_up(bot.api("/status"), process, log)  # bounded (scripts/live_stack.STARTUP_SECONDS)
    except Exception:
        bot.stop()
        raise
    return bot


# What the moodbot's visitors say (its domain: greet, mood_great, mood_unhappy, affirm, deny,
# bot_challenge, goodbye).
GREETINGS = ("hi", "hello there", "hey", "good morning", "hi, how's it going?")
SAD = ("I am sad", "I feel a bit down today", "honestly not great", "I'm so unhappy", "my week was horrible")
ANSWERS = ("yes", "yes, it did", "no", "not really", "of course")  # to "Did that help you?"
GREAT = ("I am great", "feeling wonderful today", "super good, thanks", "I'm amazing", "so perfect")
CHALLENGES = ("are you a bot?", "am I talking to a human?", "are you a real person?")
GOODBYES = ("bye", "goodbye", "see you later", "bye bye")


class StockBotVisits:
    """The stock bot's visitors: a greeting, 5-7 moods (each sad one answered), "are you a bot?", goodbye.

    8-17 messages, 12 on average, about as many as this assistant's visitors send (a greeting, 3-5
    questions, 7 booking steps). A visit is finished when its goodbye is answered "Bye".
    """

    languages = ("en",)
    unfinished = "goodbye not answered"

    def script(self, rng: random.Random, number: int, language: str = "en") -> List[str]:
        exchanges = [
            [rng.choice(SAD), rng.choice(ANSWERS)] if rng.random() < 0.5 else [rng.choice(GREAT)]
            for _ in range(rng.randint(5, 7))
        ]
        exchanges.insert(rng.randint(0, len(exchanges)), [rng.choice(CHALLENGES)])  # between two exchanges
        return [rng.choice(GREETINGS), *(text for exchange in exchanges for text in exchange), rng.choice(GOODBYES)]

    @staticmethod
    def finished(last_replies: str) -> bool:
        return "Bye" in last_replies
