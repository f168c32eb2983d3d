"""docs/benchmarks.md, the plots in docs/benchmarks/ and a line in docs/benchmarks/history.csv."""
import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import NullLocator, ScalarFormatter  # noqa: E402

from bench import HELDOUT_DIRS, LANGUAGES, PROJECT_DIR  # noqa: E402
from bench.baselines import MAX_WRONG  # noqa: E402
from bench.load import CHANNELS, MESSAGE_TIMEOUT, LevelResult, Profile  # noqa: E402
from bench.quality import CRISIS_SET_LANGUAGE, PIPELINE  # noqa: E402
from bench.scale_out import ScaleOut  # noqa: E402

TARGET_LATENCY_MS = 150
THINK_SECONDS = 1.0  # the think time of the levels "with think time" (bench/__main__.py's THINK_TIMES)
# Issue #17's goals, measured side by side with the stock `rasa init` bot (bench/stock_bot.py).
THROUGHPUT_RATIO_GOAL = 1.5  # our messages per second at saturation over the stock bot's, with 0 errors
BUSY_LATENCY_MS = 1000  # p95 at 50 visitors with think time
MEMORY_GOAL_MIB = 600  # the Rasa server's peak RSS
SPANISH_FAQ_RIGHT_TARGET = 0.92  # issue #16's bar for Spanish
QUALITY_ROWS = [  # (figure key from bench.quality.figures, label, the count it is a share of)
    ("faq_top1_accuracy", "FAQ top-1 accuracy", "faq_examples"),
    ("faq_answered_right_rate", "FAQ questions: right answer given", "faq_examples"),
    ("faq_clarification_rate", "FAQ questions: clarification asked", "faq_examples"),
    ("faq_wrong_answer_rate", "FAQ questions: wrong answer given", "faq_examples"),
    ("intent_accuracy", "intent accuracy (top-1)", "intent_examples"),
    ("intent_macro_f1", "intent macro F1 (top-1)", "intent_examples"),
    ("crisis_recall", "crisis recall", "crisis_examples"),
    ("crisis_false_alarm_rate", "ordinary messages: false crisis response", "non_crisis_examples"),
    ("check_in_rate", "ordinary messages: crisis check-in", "non_crisis_examples"),
    ("out_of_scope_rejection", "out-of-scope rejection", "out_of_scope_examples"),
    ("clarification_rate", "all messages: answered with a clarification", "intent_examples"),
]
# New columns go at the end; rows written before a column existed leave it empty (append_history).
HISTORY_FIELDS = [
    "timestamp", "commit", "faq_top1", "intent_accuracy", "intent_macro_f1", "crisis_recall", "crisis_false_positives",
    "out_of_scope_rejection", "clarifications", "cv_faq_top1", "rest_p95_ms_10_think", "socketio_p95_ms_10_think",
    "errors_100_no_think", "max_messages_per_second", "training_seconds", "model_bytes", "run_minutes",
    "es_faq_top1", "es_faq_right", "es_intent_accuracy", "es_crisis_false_positives", "es_check_ins", "cv_es_faq_top1",
    "rest_p95_ms_10_think_es", "socketio_p95_ms_10_think_es",
    "rest_p95_ms_50_think", "rest_max_messages_per_second", "rasa_peak_rss_mib",
    "stock_rest_p95_ms_10_think", "stock_rest_p95_ms_50_think", "stock_rest_max_messages_per_second",
    "stock_rasa_peak_rss_mib",
]


@dataclass
class Results:
    timestamp: str
    commit: str
    heldout: Dict[str, Dict[str, Dict]]  # language -> system -> figures
    thresholds: Dict[str, float]
    cross_validation: Dict[str, Dict[str, Dict]]  # language -> system -> figures
    folds: int
    levels: List[LevelResult]
    level_seconds: float
    level_conversations: int
    breakdown: Dict[str, List[float]]
    profile: Optional[Profile]
    model_path: str
    model_bytes: int
    training_seconds: Optional[float]
    stage_seconds: Dict[str, float] = field(default_factory=dict)
    stock_levels: List[LevelResult] = field(default_factory=list)  # the stock `rasa init` bot's (REST)
    stock_build: Optional[Dict] = None  # its build record (bench/stock_bot.py); None: not run
    scale_out: Optional[ScaleOut] = None  # one Rasa process against two (bench/scale_out.py); None: not run
    rasa_import_mib: Optional[float] = None  # a process that has only imported Rasa's server (load.rasa_import_mib)

    @property
    def total_seconds(self) -> float:
        return sum(self.stage_seconds.values())

    def level(self, channel: str, visitors: int, think_seconds: float) -> Optional[LevelResult]:
        return find_level(self.levels, channel, visitors, think_seconds)


def pct(value: float) -> str:
    return f"{value:.1%}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def mib(kb: int) -> str:
    return f"{kb / 1024:.0f}"


def targets(results: Results) -> List[Tuple[str, str, Optional[bool]]]:
    """(target, measured, met) - met is None when the run did not measure it (--quick)."""
    q, es = results.heldout["en"][PIPELINE], results.heldout["es"][PIPELINE]
    false_alarms = len(es["crisis_false_alarms"])
    rows = [
        ("English FAQ top-1 accuracy on held-out >= 95%", pct(q["faq_top1_accuracy"]), q["faq_top1_accuracy"] >= 0.95),
        ("English crisis recall 100%", pct(q["crisis_recall"]), q["crisis_recall"] == 1.0),
        (
            "English crisis false positives < 2%",
            pct(q["crisis_false_alarm_rate"]),
            q["crisis_false_alarm_rate"] < 0.02,
        ),
        (
            "English out-of-scope rejection >= 90%",
            pct(q["out_of_scope_rejection"]),
            q["out_of_scope_rejection"] >= 0.9,
        ),
        (
            f"Spanish FAQ right answers on held-out >= {SPANISH_FAQ_RIGHT_TARGET:.0%}",
            pct(es["faq_answered_right_rate"]),
            es["faq_answered_right_rate"] >= SPANISH_FAQ_RIGHT_TARGET,
        ),
        (
            "no Spanish false crisis response on held-out",
            f"{false_alarms} of {es['non_crisis_examples']} ordinary messages",
            false_alarms == 0,
        ),
    ]
    for channel in CHANNELS:
        level = results.level(channel, 10, 1.0)
        rows.append((
            f"p95 round trip < {TARGET_LATENCY_MS} ms at 10 visitors with think time ({channel})",
            f"{level.latency_ms(95):.0f} ms" if level else "not run",
            level.latency_ms(95) < TARGET_LATENCY_MS if level else None,
        ))
    for channel in CHANNELS:
        level = results.level(channel, 100, 0.0)
        rows.append((
            f"0 errors at 100 visitors without think time ({channel})",
            (
                f"{level.error_count} errors in {len(level.latencies) + level.error_count} messages"
                if level else "not run"
            ),
            level.error_count == 0 if level else None,
        ))
    return rows


def quality_table(figures: Dict[str, Dict]) -> str:
    """Rows of QUALITY_ROWS, a column per system; "n/a" where the messages held none to count."""
    systems = list(figures)
    lines = ["| | " + " | ".join(systems) + " |", "|---" * (len(systems) + 1) + "|"]
    for key, label, count in QUALITY_ROWS:
        cells = (pct(figures[s][key]) if figures[s][count] else "n/a" for s in systems)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    first = figures[systems[0]]
    lines.append(
        f"\nMessages: {first['intent_examples']} ({first['faq_examples']} FAQ questions, "
        f"{first['out_of_scope_examples']} out of scope); crisis recall over {first['crisis_examples']} crisis "
        f"messages, false crisis responses and check-ins over {first['non_crisis_examples']} ordinary ones."
    )
    return "\n".join(lines)


def confusion_table(figures: Dict) -> str:
    if not figures["confused_pairs"]:
        return "None: every FAQ question's top-1 answer was its own topic."
    lines = ["| topic | confused with | times (either way) |", "|---|---|---|"]
    lines += [f"| `{e['pair'][0]}` | `{e['pair'][1]}` | {e['count']} |" for e in figures["confused_pairs"]]
    return "\n".join(lines)


def levels_table(results: Results) -> str:
    by_language = [f"{name} p50 / p95 ms" for name in LANGUAGES.values()]
    lines = [
        "| channel | visitors | think | messages | msg/s | p50 ms | p95 ms | p99 ms | "
        + " | ".join(by_language) + " | errors | bookings | peak RSS Rasa MiB | peak RSS actions MiB |",
        "|---" * (12 + len(by_language)) + "|",
    ]
    for r in results.levels:
        errors = ", ".join(f"{count} {kind}" for kind, count in r.errors.items()) or "0"
        per_language = " | ".join(
            f"{r.latency_ms(50, code):.0f} / {r.latency_ms(95, code):.0f}" if r.language_latencies[code] else "none"
            for code in LANGUAGES
        )
        lines.append(
            f"| {r.channel} | {r.visitors} | {r.think_seconds:g} s | {len(r.latencies)} | "
            f"{r.messages_per_second:.1f} | "
            f"{r.latency_ms(50):.0f} | {r.latency_ms(95):.0f} | {r.latency_ms(99):.0f} | {per_language} | {errors} | "
            f"{r.bookings_confirmed}/{r.conversations_started} | {mib(r.peak_rss_kb['Rasa server'])} | "
            f"{mib(r.peak_rss_kb['action server'])} |"
        )
    return "\n".join(lines)


def find_level(levels: List[LevelResult], channel: str, visitors: int, think_seconds: float) -> Optional[LevelResult]:
    return next(
        (r for r in levels if (r.channel, r.visitors, r.think_seconds) == (channel, visitors, think_seconds)), None
    )


@dataclass
class Saturation:
    """The busiest REST level without think time, and the errors over every such level."""

    level: LevelResult
    errors: int
    messages: int

    @property
    def messages_per_second(self) -> float:
        return self.level.messages_per_second


def saturation(levels: List[LevelResult]) -> Optional[Saturation]:
    flat_out = [r for r in levels if r.channel == "rest" and r.think_seconds == 0]
    if not flat_out:
        return None
    return Saturation(
        max(flat_out, key=lambda r: r.messages_per_second), sum(r.error_count for r in flat_out),
        sum(len(r.latencies) + r.error_count for r in flat_out),
    )


def peak_rasa_mib(levels: List[LevelResult]) -> Optional[float]:
    peaks = [r.peak_rss_kb["Rasa server"] for r in levels if "Rasa server" in r.peak_rss_kb]
    return max(peaks) / 1024 if peaks else None


@dataclass
class Comparison:
    """One row of the side-by-side table: a measure for this assistant and for the stock bot."""

    measure: str
    ours: Optional[float]
    stock: Optional[float]
    ours_text: str
    stock_text: str
    goal: str
    met: Optional[bool]  # None: this run did not measure it

    @property
    def ratio(self) -> str:
        """Ours over stock: under 1 means less time or memory, over 1 more messages per second."""
        if self.ours is None or self.stock is None or not self.stock or np.isnan(self.ours) or np.isnan(self.stock):
            return "n/a"
        return f"{self.ours / self.stock:.2f}×"


def p95_figure(levels: List[LevelResult], visitors: int) -> Tuple[Optional[float], str]:
    level = find_level(levels, "rest", visitors, THINK_SECONDS)
    if level is None:
        return None, "not run"
    value = level.latency_ms(95)
    return value, "no message answered" if np.isnan(value) else f"{value:.0f} ms"


def saturation_text(found: Optional[Saturation]) -> str:
    if found is None:
        return "not run"
    return (
        f"{found.messages_per_second:.1f} msg/s ({found.level.visitors} visitors); "
        f"{found.errors} errors in {found.messages} messages"
    )


def side_by_side(results: Results) -> List[Comparison]:
    """Issue #17's four measures, this assistant's (REST) beside the stock bot's, with its goals."""
    ours, stock = results.levels, results.stock_levels
    rows = []
    for visitors, goal, met in (
        (10, f"at most {TARGET_LATENCY_MS} ms", lambda ms: ms <= TARGET_LATENCY_MS),
        (50, f"under {BUSY_LATENCY_MS / 1000:g} s", lambda ms: ms < BUSY_LATENCY_MS),
    ):
        (value, text), (stock_value, stock_text) = p95_figure(ours, visitors), p95_figure(stock, visitors)
        rows.append(Comparison(
            f"p95 round trip, {visitors} visitors with {THINK_SECONDS:g} s think time", value, stock_value, text,
            stock_text, goal, None if value is None else bool(met(value)),
        ))
    mine, theirs = saturation(ours), saturation(stock)
    throughput = Comparison(
        "throughput at saturation (no think time): most messages per second", mine and mine.messages_per_second,
        theirs and theirs.messages_per_second, saturation_text(mine), saturation_text(theirs),
        f"at least {THROUGHPUT_RATIO_GOAL:g}× the stock bot's, 0 errors", None,
    )
    if mine and theirs:
        throughput.met = mine.messages_per_second >= THROUGHPUT_RATIO_GOAL * theirs.messages_per_second and (
            mine.errors == 0
        )
    rows.append(throughput)
    memory, stock_memory = peak_rasa_mib(ours), peak_rasa_mib(stock)
    rows.append(Comparison(
        "Rasa server memory: peak RSS over the levels", memory, stock_memory,
        f"{memory:.0f} MiB" if memory else "not run", f"{stock_memory:.0f} MiB" if stock_memory else "not run",
        f"under {MEMORY_GOAL_MIB} MiB", None if memory is None else memory < MEMORY_GOAL_MIB,
    ))
    return rows


def side_by_side_table(results: Results) -> str:
    lines = ["| measure | this assistant | stock Rasa bot | ratio (ours / stock) | goal | |", "|---" * 6 + "|"]
    for row in side_by_side(results):
        met = "not run" if row.met is None else "met" if row.met else "**missed**"
        lines.append(f"| {row.measure} | {row.ours_text} | {row.stock_text} | {row.ratio} | {row.goal} | {met} |")
    return "\n".join(lines)


def limits(results: Results) -> List[str]:
    """What this run measured of the limits behind the serving goals, one sentence each."""
    found = []
    if results.rasa_import_mib is not None:
        found.append(
            f"Memory: a Python process that has only imported Rasa 3.6's server (`rasa.core.agent`) as this "
            f"project's server does, without TensorFlow (rasa_server/without_tensorflow.py), holds "
            f"{results.rasa_import_mib:.0f} MiB before any model is loaded, "
            f"{results.rasa_import_mib / MEMORY_GOAL_MIB:.0%} of the {MEMORY_GOAL_MIB} MiB goal."
        )
    scale = results.scale_out
    if scale is not None and scale.ratio(scale.two_replicas):
        found.append(
            f"Throughput: one Rasa server process uses at most about one core (Python's interpreter lock); on this "
            f"machine's {scale.cores} cores two processes served {scale.ratio(scale.two_replicas):.2f}× (two replicas) "
            f"and {scale.ratio(scale.two_workers):.2f}× (two workers on one port) the messages per second of one "
            "(section \"More than one Rasa process\")."
        )
    if results.profile:
        parts = sorted(
            ((name, seconds) for name, seconds in results.profile.parts.items() if not name.startswith("of which")),
            key=lambda item: -item[1],
        )
        found.append(
            "Time per message: " + ", ".join(
                f"{name} {seconds / results.profile.seconds:.0%}" for name, seconds in parts[:3]
            ) + " of the profiled visit (section \"Where a round trip's time goes\")."
        )
    return found


def stock_levels_table(levels: List[LevelResult]) -> str:
    lines = [
        "| channel | visitors | think | messages | msg/s | p50 ms | p95 ms | p99 ms | errors | visits finished | "
        "peak RSS Rasa MiB |",
        "|---" * 11 + "|",
    ]
    for r in levels:
        errors = ", ".join(f"{count} {kind}" for kind, count in r.errors.items()) or "0"
        lines.append(
            f"| {r.channel} | {r.visitors} | {r.think_seconds:g} s | {len(r.latencies)} | "
            f"{r.messages_per_second:.1f} | {r.latency_ms(50):.0f} | {r.latency_ms(95):.0f} | {r.latency_ms(99):.0f} | "
            f"{errors} | "
            f"{r.bookings_confirmed}/{r.conversations_started} | {mib(r.peak_rss_kb['Rasa server'])} |"
        )
    return "\n".join(lines)


def limits_paragraph(results: Results) -> str:
    found = limits(results)
    return "Limits measured in this run:\n\n" + "\n".join(f"- {line}" for line in found) if found else ""


def side_by_side_section(results: Results) -> str:
    build = results.stock_build
    if build is None:
        return f"""## Side by side with a stock Rasa bot

The stock bot was not run in this run (`--skip-stock`): its columns read "not run".

{side_by_side_table(results)}

{limits_paragraph(results)}"""
    return f"""## Side by side with a stock Rasa bot

The same load generator and levels, over REST, against Rasa's own initial project: the bench builds it
offline with `{build['command']}` (Rasa {build['rasa']}: the "moodbot", Rasa's default config, no custom
component or action; trained in {build['seconds'] / 60:.1f} min on {build['cores']} cores when it was built,
{build['built']}, and kept in `var/bench/stock_bot/` for later runs) and serves it with `rasa run --enable-api`
as it comes: its own credentials.yml (REST) and endpoints.yml (in-memory tracker store, no action server).
The two servers ran one after the other, never at once. Each bot gets messages of its own domain, about
as many per visit: this assistant its held-out FAQ questions and a booking, in English and Spanish
(below); the stock bot greetings, moods, yes or no, "are you a bot?" and goodbye (`bench/stock_bot.py`).
Ratio: this assistant's figure over the stock bot's (under 1: less time or memory; over 1: more messages
per second). Throughput is the busiest REST level without think time; its errors are over every REST
level without think time.

{side_by_side_table(results)}

{limits_paragraph(results)}

The absolute figures are this machine's ({os.cpu_count()} cores, shared with other work while the bench ran);
on other hardware they differ, and the ratios are the comparison.

The stock bot's levels (a visit is finished when its goodbye is answered):

{stock_levels_table(results.stock_levels)}"""


def breakdown_table(results: Results) -> str:
    lines = ["| part (timed alone, idle server) | median ms | p95 ms |", "|---|---|---|"]
    for name, samples in results.breakdown.items():
        lines.append(f"| {name} | {ms(np.median(samples))} | {ms(np.percentile(samples, 95))} |")
    level = results.level("rest", 1, 1.0)
    if level:
        lines.append(
            f"| *whole round trip, REST, 1 visitor with think time (for comparison)* | {level.latency_ms(50):.0f} | "
            f"{level.latency_ms(95):.0f} |"
        )
    return "\n".join(lines)


def heldout_section(results: Results, language: str, assets: str) -> str:
    name = LANGUAGES[language]
    sources = HELDOUT_DIRS[language].relative_to(PROJECT_DIR).as_posix() + "/"
    if language == CRISIS_SET_LANGUAGE:
        sources += ", tests/crisis/"
    figures = results.heldout[language]
    note = "" if figures[PIPELINE]["crisis_examples"] else (
        f"\nThese files hold no crisis messages (crisis recall n/a); tests/crisis/ is counted with "
        f"{LANGUAGES[CRISIS_SET_LANGUAGE]}, as in `scripts/evaluate_nlu.py`. The false crisis responses and "
        "check-ins are over these files' ordinary messages.\n"
    )
    return f"""### Held out, {name} ({sources}: never trained on)

{quality_table(figures)}
{note}
![held-out quality, {name}]({assets}/quality_heldout_{language}.png)

Most confused FAQ topic pairs ({PIPELINE}, top-1, held out, {name}):

{confusion_table(figures[PIPELINE])}"""


def cross_validation_tables(results: Results, assets: str) -> str:
    return "\n\n".join(
        f"""#### {name} training examples

{quality_table(results.cross_validation[language])}

![cross-validated quality, {name}]({assets}/quality_cv_{language}.png)"""
        for language, name in LANGUAGES.items()
    )


def profile_section(profile: Optional[Profile]) -> str:
    if profile is None:
        return "Not profiled: pyinstrument is not installed (`.venv/bin/pip install pyinstrument`)."
    from pyinstrument import __version__

    per_message = lambda seconds: f"{seconds / profile.messages * 1000:.0f}"  # noqa: E731
    lines = [
        f"One visitor's whole conversation ({profile.messages} messages) through Rasa's own message handling "
        f"in the benchmark process under pyinstrument {__version__}: the same model, `endpoints.env.yml` (the running "
        f"stack's SQLite tracker store and action server), minus the HTTP channel; one message at a time. "
        f"{per_message(profile.seconds)} ms per message in all.\n",
        "| part | ms per message | share |",
        "|---|---|---|",
    ]
    for name, seconds in sorted(profile.parts.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {per_message(seconds)} | {seconds / profile.seconds:.0%} |")
    lines += [
        "",
        "Profiling slows call-heavy Python code most, so the total is above the served round trip; the shares are the "
        "point. The jsonschema row: Rasa 3.6 checks every action server response with `jsonschema.validate`, which "
        "first validates Rasa's large event schema itself against the JSON Schema metaschema, on every call (about "
        "50 ms each, half of a message's time in the first profile); `rasa_server/action_calls.py` builds the "
        "validator once and runs the same check (about 3 ms). Button payloads (`/intent{...}`) skip the NLU models "
        "(`rasa_server/button_payloads.py`).",
        "",
        "<details><summary>pyinstrument call tree</summary>", "", "```", profile.text.strip(), "```", "</details>",
    ]
    return "\n".join(lines)


def plot_quality(figures: Dict[str, Dict], title: str, path: Path) -> None:
    rows = QUALITY_ROWS
    systems = list(figures)
    width = 0.8 / len(systems)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    positions = np.arange(len(rows))
    for index, system in enumerate(systems):
        values = [figures[system][key] * 100 if figures[system][count] else np.nan for key, _, count in rows]
        bars = ax.barh(positions + index * width, values, width, label=system)
        ax.bar_label(bars, labels=["n/a" if np.isnan(v) else f"{v:.0f}" for v in values], fontsize=7, padding=2)
    ax.set_yticks(positions + width * (len(systems) - 1) / 2)
    ax.set_yticklabels([label for _, label, _ in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 105)
    ax.set_xlabel("%")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=len(systems), fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def visitors_axis(ax, levels: List[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(levels)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("concurrent visitors")
    ax.grid(alpha=0.3, which="both")


def plot_latency(results: Results, path: Path) -> None:
    visitor_levels = sorted({r.visitors for r in results.levels})
    think_times = sorted({r.think_seconds for r in results.levels}, reverse=True)
    runs = lambda channel, think_seconds: [  # noqa: E731
        r for r in results.levels if r.channel == channel and r.think_seconds == think_seconds
    ]
    colors = dict(zip(CHANNELS, ("tab:blue", "tab:orange"), strict=True))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    # One latency panel per think time (at most two); the third panel, throughput, is drawn below.
    for ax, think_seconds in zip(axes, think_times, strict=False):
        for channel in CHANNELS:
            levels = runs(channel, think_seconds)
            visitors = [r.visitors for r in levels]
            ax.plot(visitors, [r.latency_ms(95) for r in levels], "o-", color=colors[channel], label=f"{channel} p95")
            ax.plot(visitors, [r.latency_ms(50) for r in levels], "s--", color=colors[channel], label=f"{channel} p50")
        ax.axhline(
            TARGET_LATENCY_MS, color="grey", linestyle=":", label=f"{TARGET_LATENCY_MS} ms target (10 visitors, think)"
        )
        visitors_axis(ax, visitor_levels)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.set_ylabel("round trip per message, ms (log)")
        ax.set_title(f"think time {think_seconds:g} s" + (" (saturation)" if not think_seconds else ""))
        ax.legend(fontsize=8)
    ax = axes[2]
    for channel in CHANNELS:
        # think_times are those the results measured: at most the two of THINK_TIMES, a style each.
        for think_seconds, style in zip(think_times, ("o-", "s--"), strict=False):
            levels = runs(channel, think_seconds)
            ax.plot([r.visitors for r in levels], [r.messages_per_second for r in levels], style,
                    color=colors[channel], label=f"{channel}, think {think_seconds:g} s")
    visitors_axis(ax, visitor_levels)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("messages per second")
    ax.set_title("throughput")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def p95_ms(level: Optional[LevelResult], language: Optional[str] = None):
    """The level's p95 round trip in whole ms (of one language's visitors), "" if not measured."""
    value = level.latency_ms(95, language) if level else float("nan")
    return "" if np.isnan(value) else round(value)


def side_by_side_history(results: Results) -> Dict[str, object]:
    """The side-by-side figures (REST) for history.csv, "" where not measured."""
    row = {}
    for prefix, levels in (("", results.levels), ("stock_", results.stock_levels)):
        for visitors in (10, 50):
            row[f"{prefix}rest_p95_ms_{visitors}_think"] = p95_ms(find_level(levels, "rest", visitors, THINK_SECONDS))
        busiest, memory = saturation(levels), peak_rasa_mib(levels)
        row[f"{prefix}rest_max_messages_per_second"] = round(busiest.messages_per_second, 1) if busiest else ""
        row[f"{prefix}rasa_peak_rss_mib"] = round(memory) if memory else ""
    return row


def append_history(results: Results, path: Path) -> None:
    """One row per run. A file written before a column existed is rewritten under the current header,
    its older rows with that column empty."""
    q, es = results.heldout["en"][PIPELINE], results.heldout["es"][PIPELINE]
    think10 = {channel: results.level(channel, 10, 1.0) for channel in CHANNELS}
    saturated = [results.level(channel, 100, 0.0) for channel in CHANNELS]
    row = {
        "timestamp": results.timestamp,
        "commit": results.commit,
        "faq_top1": q["faq_top1_accuracy"],
        "intent_accuracy": q["intent_accuracy"],
        "intent_macro_f1": q["intent_macro_f1"],
        "crisis_recall": q["crisis_recall"],
        "crisis_false_positives": q["crisis_false_alarm_rate"],
        "out_of_scope_rejection": q["out_of_scope_rejection"],
        "clarifications": q["clarification_rate"],
        "cv_faq_top1": results.cross_validation["en"][PIPELINE]["faq_top1_accuracy"],
        "rest_p95_ms_10_think": p95_ms(think10["rest"]),
        "socketio_p95_ms_10_think": p95_ms(think10["socketio"]),
        "errors_100_no_think": sum(r.error_count for r in saturated) if all(saturated) else "",
        "max_messages_per_second": round(max(r.messages_per_second for r in results.levels), 1),
        "training_seconds": round(results.training_seconds) if results.training_seconds else "",
        "model_bytes": results.model_bytes,
        "run_minutes": round(results.total_seconds / 60, 1),
        "es_faq_top1": es["faq_top1_accuracy"],
        "es_faq_right": es["faq_answered_right_rate"],
        "es_intent_accuracy": es["intent_accuracy"],
        "es_crisis_false_positives": es["crisis_false_alarm_rate"],
        "es_check_ins": es["check_in_rate"],
        "cv_es_faq_top1": results.cross_validation["es"][PIPELINE]["faq_top1_accuracy"],
        "rest_p95_ms_10_think_es": p95_ms(think10["rest"], "es"),
        "socketio_p95_ms_10_think_es": p95_ms(think10["socketio"], "es"),
        **side_by_side_history(results),
    }
    rows = read_history(path)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HISTORY_FIELDS, restval="")
        writer.writeheader()
        writer.writerows(rows + [row])


def read_history(path: Path) -> List[Dict[str, str]]:
    """The rows of history.csv, each with every column of HISTORY_FIELDS ("" where an older run
    did not record it); [] when there is no file yet."""
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            {name: (row.get(name) or "") for name in HISTORY_FIELDS}
            for row in csv.DictReader(handle)
        ]


def missed_summary(results: Results) -> str:
    missed = [name for name, _, met in targets(results) if met is False]
    if not missed:
        return "Every target measured was met."
    summary = (
        f"Missed: {'; '.join(missed)}. Nothing was tuned on the held-out data to close a gap, and the pipeline was "
        "not changed for this report."
    )
    if not any("round trip" in name for name in missed):
        return summary
    busiest = max(results.levels, key=lambda r: r.messages_per_second)
    at_ten = [level for level in (results.level(channel, 10, 1.0) for channel in CHANNELS) if level]
    summary += (
        f" Latency: the servers handled at most {busiest.messages_per_second:.1f} messages per second on this machine "
        f"({busiest.channel}, {busiest.visitors} visitors, think {busiest.think_seconds:g} s); 10 visitors with think "
        "time sent " + " and ".join(
            f"{level.messages_per_second:.1f} per second over {level.channel} "
            f"({level.messages_per_second / busiest.messages_per_second:.0%} of that)" for level in at_ten
        ) + "."
    )
    if results.profile:
        parts = sorted(
            ((name, seconds) for name, seconds in results.profile.parts.items() if not name.startswith("of which")),
            key=lambda item: -item[1],
        )
        summary += " Where a message's time goes (profile below): " + ", ".join(
            f"{name} {seconds / results.profile.seconds:.0%}" for name, seconds in parts[:3]
        ) + "."
    return summary


def serving_section(results: Results, assets: str) -> str:
    return f"""## Serving

The production stack started by `scripts/live_stack.start`: action server and `rasa run` with `endpoints.env.yml`
(SQLite tracker store) and `credentials.env.yml` (REST, socket.io), on loopback. A load generator in the benchmark
process (asyncio; aiohttp for REST, python-socketio polling clients with the widget's Origin for socket.io)
simulates visitors, each holding a whole conversation: a greeting, 3-5 held-out FAQ questions, then a booking
(`/book_consultation`, a name, a 509-555-01xx phone, "weekday mornings", `/inform{{"help_with": "anxiety"}}`, consent
`/affirm`, confirm `/affirm`). Every other visitor is Spanish: "hola", questions from tests/heldout_es/ and "entre
semana por la mañana"; the p50 / p95 per language are over each language's visitors' messages. N visitors at
once, each starting a new conversation when one ends; a level stops after {results.level_seconds:g} s or
{results.level_conversations} conversations
(a conversation cut off by the time limit just stops).
Round trip: from sending a message until its last reply (the REST response; for socket.io the
server's acknowledgement, which follows its last `bot_uttered`). Errors: timeouts ({MESSAGE_TIMEOUT:g} s), refused
connections, HTTP errors, messages without a reply, bookings without a reference code. Peak RSS: VmHWM of each
server process during the level (reset before it). The load generator shares the 2 cores with the servers.

{levels_table(results)}

![latency against concurrency]({assets}/latency.png)

### Where a round trip's time goes

Each part timed on its own through the HTTP APIs, one request at a time, against a conversation that has just
finished a whole visit (each includes a loopback HTTP request):

{breakdown_table(results)}

{profile_section(results.profile)}"""


def scale_out_section(results: Results) -> str:
    found = results.scale_out
    if found is None:
        return "## More than one Rasa process\n\nNot measured in this run (`--skip-scale-out`)."
    rows = [("one Rasa server, one process", found.one_process),
            ("two replicas, each on its own port (nginx in docker-compose.yml)", found.two_replicas),
            ("one server, two Sanic workers behind its one port (`SANIC_WORKERS=2`)", found.two_workers)]
    table = "\n".join(
        f"| {name} | {level.messages_per_second:.1f} | "
        f"{'1.00×' if level is found.one_process else f'{found.ratio(level):.2f}×'} | "
        f"{ms(level.latency_ms(95) / 1000)} | {level.error_count} |"
        for name, level in rows
    )
    level = found.one_process
    return f"""## More than one Rasa process

The production set-up on loopback (`scripts/production_stack.py`: PostgreSQL tracker store, Redis lock store,
one action server), started once for the three levels below (`bench/scale_out.py`): {level.visitors} REST
visitors without think time (this assistant's visits, as above), {found.seconds:g} s or
{found.conversations} conversations a level; the servers not in a level idle. Ratio: messages per second
over the one-process level's. All on this machine's {found.cores} cores, shared with the load generator, the
action server, PostgreSQL and Redis.

| Rasa server processes | messages/s | ratio | p95 (ms) | errors |
|---|---|---|---|---|
{table}"""


def markdown(results: Results, assets: str) -> str:
    target_rows = "\n".join(
        f"| {name} | {measured} | {'not run' if met is None else 'met' if met else '**missed**'} |"
        for name, measured, met in targets(results)
    )
    stages = ", ".join(f"{name} {seconds / 60:.1f} min" for name, seconds in results.stage_seconds.items())
    thresholds = "; ".join(f"{name}: {value:.2f}" for name, value in results.thresholds.items())
    training = (
        f"{results.training_seconds / 60:.1f} min for `rasa train --force` of the whole model (NLU and dialogue) "
        "into a temporary folder, Rasa's training cache off"
        if results.training_seconds else "not measured in this run (--quick)"
    )
    return f"""# Benchmarks

Written by `make bench` (`python -m bench`); do not edit by hand. Run of {results.timestamp}, commit
`{results.commit}`, on this machine ({os.cpu_count()} cores, shared with other work while it ran).
Total run time {results.total_seconds / 60:.1f} min ({stages}). Earlier runs: [history.csv]({assets}/history.csv).

## Targets

| target | measured | |
|---|---|---|
{target_rows}

{missed_summary(results)}

{side_by_side_section(results)}

{scale_out_section(results)}

## Answer quality

Four systems on the same data, in English and in Spanish (one model serves both). **{PIPELINE}** is the trained
model (`{Path(results.model_path).name}`) with its
thresholds, gates and crisis net; its top-1 figures are before thresholds, "right answer / clarification / wrong
answer" what a visitor actually gets. The baselines predict the full label (`faq/<topic>` or the intent) of the
nearest training example (English and Spanish training data together) by cosine similarity: **TF-IDF** character
2-5-grams (sklearn), **MiniLM** all-MiniLM-L6-v2 sentence embeddings (`nlu_components/minilm_encoder.py`), and
**multilingual USE**, the Universal Sentence Encoder the pipeline itself uses (`nlu_components/use_encoder.py`).
MiniLM is an English-only model by nature: Spanish reaches it as English subword pieces, so its Spanish figures
show what an English encoder makes of Spanish, not a fair Spanish baseline; the multilingual USE baseline is the
one to compare the pipeline with in Spanish. A baseline asks for a clarification
when the similarity is below a threshold chosen on the training data by leave-one-out: each training example
matched against all others, the lowest threshold at which at most {MAX_WRONG:.0%} of them would get a wrong
answer (the wrong-answer budget `make tune` uses). Chosen: {thresholds}. The threshold applies to every label,
so a baseline's crisis recall counts only the crisis messages it was sure enough about; it has no crisis net.

{heldout_section(results, "en", assets)}

{heldout_section(results, "es", assets)}

### {results.folds}-fold cross-validation on the training data (data/**/*.yml)

Stratified folds (`scripts/tune_thresholds.py`); per fold the pipeline is trained with `rasa.model_training.train_nlu`
on the other folds plus `data/responses/faq.yml`, the baselines fitted (threshold included) on the other folds;
each training example is predicted once. Crisis figures here are the classifier's and the net's on the training
crisis examples only. MiniLM and USE embeddings are computed once per text and reused across folds and systems
(the encoders are deterministic: no figure changes, the folds just train faster). The folds hold both languages'
training data; the predictions are split by the language of the file each example came from (`data/nlu/es/` is
Spanish, the rest English).

{cross_validation_tables(results, assets)}

{serving_section(results, assets)}

### Training and model size

- Training: {training}.
- Model: `{Path(results.model_path).name}`, {results.model_bytes / 1e6:.1f} MB.
"""


def write(results: Results, docs_dir: Path) -> Path:
    assets = docs_dir / "benchmarks"
    assets.mkdir(parents=True, exist_ok=True)
    for language, name in LANGUAGES.items():
        plot_quality(
            results.heldout[language], f"Held-out quality, {name}", assets / f"quality_heldout_{language}.png"
        )
        plot_quality(
            results.cross_validation[language],
            f"{results.folds}-fold cross-validation on the training data, {name} examples",
            assets / f"quality_cv_{language}.png",
        )
    plot_latency(results, assets / "latency.png")
    append_history(results, assets / "history.csv")
    report = docs_dir / "benchmarks.md"
    report.write_text(markdown(results, "benchmarks"))
    return report


def serving_markdown(results: Results, assets: str) -> str:
    """The serving part alone (`python -m bench --serving-only`): side by side, levels, breakdown, profile."""
    stages = ", ".join(f"{name} {seconds / 60:.1f} min" for name, seconds in results.stage_seconds.items())
    return f"""# Serving benchmark

Written by `python -m bench --serving-only` (serving only: no answer quality, no training time; history.csv and
docs/benchmarks.md untouched). Run of {results.timestamp}, commit `{results.commit}`, model
`{Path(results.model_path).name}`, on this machine ({os.cpu_count()} cores, shared with other work while it ran).
Total run time {results.total_seconds / 60:.1f} min ({stages}).

{side_by_side_section(results)}

{scale_out_section(results)}

{serving_section(results, assets)}
"""


def write_serving(results: Results, docs_dir: Path) -> Path:
    assets = docs_dir / "benchmarks"
    assets.mkdir(parents=True, exist_ok=True)
    plot_latency(results, assets / "latency.png")
    report = docs_dir / "serving.md"
    report.write_text(serving_markdown(results, "benchmarks"))
    return report
