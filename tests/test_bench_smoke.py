"""The benchmark's own code, small: the load generator against the live stack, the baselines, and
the report a run writes (both languages side by side, history.csv kept readable across versions)."""
import csv
import re

import numpy as np
import pytest

from bench import LANGUAGES
from bench.baselines import (
    CachingMiniLMEncoder,
    MiniLMRetriever,
    TfidfRetriever,
    UseRetriever,
    lowest_safe_threshold,
)
from bench.load import LevelResult, run_level

EXAMPLES = [
    ("how much does an infusion cost", "faq/cost"),
    ("is ketamine safe for me", "faq/safety"),
    ("hello there", "greet"),
    ("i want to book a consultation", "book_consultation"),
]


@pytest.mark.parametrize("channel", ["rest", "socketio"])
async def test_two_visitors_without_think_time_get_every_reply(live_assistant, channel):
    result = await run_level(
        live_assistant, channel, visitors=2, think_seconds=0.0, max_seconds=45, max_conversations=2
    )

    assert result.error_count == 0, result.errors
    # A visit stops at its first message without a reply, so two confirmed bookings mean every message got one.
    assert (result.conversations_started, result.bookings_confirmed) == (2, 2)
    assert len(result.latencies) >= 2 * 11  # greeting, at least 3 questions, 7 booking steps
    # Every other visitor is Spanish: one whole visit, booking included, in each language.
    assert {language: len(latencies) >= 11 for language, latencies in result.language_latencies.items()} == {
        "en": True, "es": True
    }


@pytest.mark.parametrize(
    "make_retriever", [TfidfRetriever, lambda: MiniLMRetriever(CachingMiniLMEncoder()), UseRetriever]
)
def test_a_query_identical_to_a_training_example_retrieves_it(make_retriever):
    retriever = make_retriever().fit(EXAMPLES)
    top1, final = retriever.predict([text for text, _ in EXAMPLES])
    labels = [label for _, label in EXAMPLES]
    assert top1 == labels
    assert final == labels  # similarity 1: above any threshold


def test_the_threshold_is_the_lowest_that_keeps_wrong_answers_within_budget():
    similarity = np.array([0.9, 0.5, 0.2])
    assert lowest_safe_threshold(similarity, np.array([True, False, True])) == 0.51
    assert lowest_safe_threshold(similarity, np.array([True, True, True])) == 0.0


def language_figures(right_answers: int, false_crisis: int):
    """bench.quality's figures for every system on 10 FAQ questions and 10 other messages (20 ordinary
    ones: no crisis message among them)."""
    from bench.quality import PIPELINE, figures

    faq = [(f"question {i}", "faq/cost") for i in range(10)]
    ordinary = [(f"message {i}", "greet") for i in range(10)]
    final = {text: gold if i < right_answers else "nlu_fallback" for i, (text, gold) in enumerate(faq)}
    final.update({text: "crisis" if i < false_crisis else gold for i, (text, gold) in enumerate(ordinary)})
    top1 = {text: gold for text, gold in faq + ordinary}
    result = figures((top1, final), faq + ordinary, {"crisis": [], "not_crisis": []})
    return {name: result for name in (PIPELINE, TfidfRetriever.name, MiniLMRetriever.name, UseRetriever.name)}


def quick_results(timestamp="2026-01-01 00:00 UTC"):
    """A run's results as --quick gathers them, with figures that tell the languages apart."""
    from bench.report import Results

    level = LevelResult("rest", 10, 1.0, seconds=10.0)
    level.language_latencies = {"en": [0.100] * 20, "es": [0.300] * 20}
    level.latencies = level.language_latencies["en"] + level.language_latencies["es"]
    level.peak_rss_kb = {"Rasa server": 1024, "action server": 1024}
    heldout = {"en": language_figures(10, 0), "es": language_figures(8, 1)}  # Spanish: 80% right, 1 false crisis
    cross_validation = {"en": language_figures(9, 0), "es": language_figures(7, 0)}
    return Results(
        timestamp=timestamp, commit="abc1234", heldout=heldout, thresholds={}, cross_validation=cross_validation,
        folds=2, levels=[level], level_seconds=5, level_conversations=10, breakdown={}, profile=None,
        model_path="models/model.tar.gz", model_bytes=1, training_seconds=None,
    )


def section(report: str, heading: str) -> str:
    start = report.index(heading)
    end = report.find("\n#", start + len(heading))
    return report[start : end if end != -1 else None]


def test_the_report_shows_spanish_beside_english(tmp_path):
    from bench import report

    text = report.write(quick_results(), tmp_path).read_text()

    # Targets: the Spanish ones, measured on the Spanish held-out set, and missed here.
    targets = section(text, "## Targets")
    assert "| Spanish FAQ right answers on held-out >= 92% | 80.0% | **missed** |" in targets
    assert "| no Spanish false crisis response on held-out | 1 of 20 ordinary messages | **missed** |" in targets
    assert "| English FAQ top-1 accuracy on held-out >= 95% | 100.0% | met |" in targets

    # Held-out quality: one table per language, each with every system's column.
    for heading, right in (("### Held out, English (tests/heldout/, tests/crisis/", "100.0%"),
                           ("### Held out, Spanish (tests/heldout_es/", "80.0%")):
        table = section(text, heading)
        assert "multilingual USE embeddings, nearest neighbour" in table.splitlines()[2]
        assert f"| FAQ questions: right answer given | {right} | {right} | {right} | {right} |" in table
    spanish = section(text, "### Held out, Spanish")
    assert "| ordinary messages: false crisis response | 5.0% |" in spanish
    assert "| crisis recall | n/a |" in spanish  # no crisis messages in the Spanish files
    assert "MiniLM is an English-only model" in text

    # Cross-validation split by language.
    assert "| FAQ questions: right answer given | 70.0% |" in section(text, "#### Spanish training examples")
    assert "| FAQ questions: right answer given | 90.0% |" in section(text, "#### English training examples")

    # Serving: the totals, and p50 / p95 per language.
    serving = section(text, "## Serving")
    header = next(line for line in serving.splitlines() if line.startswith("| channel"))
    assert re.search(r"\| p50 ms \| p95 ms \| p99 ms \| English p50 / p95 ms \| Spanish p50 / p95 ms \|", header)
    row = next(line for line in serving.splitlines() if line.startswith("| rest | 10 |"))
    assert "| 40 | 4.0 | 200 | 300 | 300 | 100 / 100 | 300 / 300 |" in row

    for language in LANGUAGES:
        for kind in ("heldout", "cv"):
            assert (tmp_path / "benchmarks" / f"quality_{kind}_{language}.png").stat().st_size > 0


def test_history_gains_the_spanish_columns_and_keeps_older_rows(tmp_path):
    from bench import report

    history = tmp_path / "benchmarks" / "history.csv"
    history.parent.mkdir()
    older_fields = report.HISTORY_FIELDS[: report.HISTORY_FIELDS.index("run_minutes") + 1]
    with history.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=older_fields)
        writer.writeheader()
        writer.writerow({name: "1" for name in older_fields} | {"timestamp": "older run"})

    report.write(quick_results("first run"), tmp_path)
    report.write(quick_results("second run"), tmp_path)

    with history.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["timestamp"] for row in rows] == ["older run", "first run", "second run"]
    assert list(rows[0]) == report.HISTORY_FIELDS  # the new columns at the end
    assert (rows[0]["faq_top1"], rows[0]["es_faq_right"]) == ("1", "")
    assert (rows[2]["es_faq_right"], rows[2]["es_crisis_false_positives"]) == ("0.8", "0.05")
    assert (rows[2]["rest_p95_ms_10_think"], rows[2]["rest_p95_ms_10_think_es"]) == ("300", "300")


def served_level(channel, visitors, think_seconds, latency_ms, messages, rss_mib, seconds=10.0):
    """A level's result with every message answered in latency_ms and the Rasa server's peak RSS."""
    level = LevelResult(channel, visitors, think_seconds, seconds=seconds)
    level.latencies = [latency_ms / 1000] * messages
    level.language_latencies = {"en": list(level.latencies), "es": []}
    level.peak_rss_kb = {"Rasa server": rss_mib * 1024, "action server": 1024}
    return level


def test_the_report_sets_the_assistant_beside_the_stock_bot_with_ratios_and_goals(tmp_path):
    from bench import report

    results = quick_results()
    results.levels = [
        served_level("rest", 10, 1.0, 120, 100, 700), served_level("rest", 50, 1.0, 1500, 100, 690),
        served_level("rest", 10, 0.0, 400, 300, 650),
    ]
    results.stock_levels = [
        served_level("rest", 10, 1.0, 100, 100, 350), served_level("rest", 50, 1.0, 500, 100, 340),
        served_level("rest", 10, 0.0, 300, 200, 330),
    ]
    results.stock_build = {
        "rasa": "3.6.21", "command": "rasa init --no-prompt", "seconds": 120.0, "built": "2026-01-01 00:00 UTC",
        "model": "model.tar.gz", "cores": 2,
    }

    side = section(report.write(results, tmp_path).read_text(), "## Side by side with a stock Rasa bot")

    assert "| measure | this assistant | stock Rasa bot | ratio (ours / stock) | goal | |" in side
    rows = {line.split(" | ")[0]: line for line in side.splitlines() if line.startswith("| ")}
    assert rows["| p95 round trip, 10 visitors with 1 s think time"].endswith(
        " | 120 ms | 100 ms | 1.20× | at most 150 ms | met |"
    )
    assert rows["| p95 round trip, 50 visitors with 1 s think time"].endswith(
        " | 1500 ms | 500 ms | 3.00× | under 1 s | **missed** |"
    )
    assert (
        "| throughput at saturation (no think time): most messages per second "
        "| 30.0 msg/s (10 visitors); 0 errors in 300 messages | 20.0 msg/s (10 visitors); 0 errors in 200 messages "
        "| 1.50× | at least 1.5× the stock bot's, 0 errors | met |"
    ) in side
    assert rows["| Rasa server memory: peak RSS over the levels"].endswith(
        " | 700 MiB | 350 MiB | 2.00× | under 600 MiB | **missed** |"
    )
    assert "absolute figures are this machine's" in side
    assert "messages of its own domain" in side

    # One error at saturation misses the throughput goal, whatever the ratio.
    results.levels[2].errors["timeout"] = 1
    throughput = report.side_by_side(results)[2]
    assert (throughput.ratio, throughput.met) == ("1.50×", False)

    # Without the stock bot (--skip-stock) its column and the ratios read "not run" / "n/a".
    results.stock_levels, results.stock_build = [], None
    rows = report.side_by_side(results)
    assert [(row.stock_text, row.ratio) for row in rows] == [("not run", "n/a")] * 4
    assert rows[0].met is True and rows[2].met is None


def test_a_stock_bot_visit_greets_answers_each_did_that_help_and_says_goodbye():
    import random

    from bench.stock_bot import ANSWERS, GOODBYES, GREETINGS, SAD, StockBotVisits

    visits = StockBotVisits()
    for number in range(50):
        script = visits.script(random.Random(number), number, "en")
        assert script[0] in GREETINGS and script[-1] in GOODBYES
        assert 8 <= len(script) <= 17
        assert all(script[index + 1] in ANSWERS for index, text in enumerate(script) if text in SAD)
    assert visits.finished("Bye") and not visits.finished("Hey! How are you?")


def test_the_report_sets_one_rasa_process_beside_two_replicas_and_two_workers(tmp_path):
    from bench import report
    from bench.scale_out import ScaleOut

    results = quick_results()
    results.scale_out = ScaleOut(
        one_process=served_level("rest", 20, 0.0, 2400, 300, 900),
        two_replicas=served_level("rest", 20, 0.0, 1600, 480, 900),
        two_workers=served_level("rest", 20, 0.0, 1900, 450, 900),
        seconds=30, conversations=300, cores=2,
    )
    results.scale_out.two_workers.errors["timeout"] = 2
    results.rasa_import_mib = 520.4

    text = report.write(results, tmp_path).read_text()
    scale = section(text, "## More than one Rasa process")

    rows = [line for line in scale.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1].endswith(" | 30.0 | 1.00× | 2400 | 0 |")  # 300 messages in 10 s
    assert rows[2].startswith("| two replicas") and rows[2].endswith(" | 48.0 | 1.60× | 1600 | 0 |")
    assert rows[3].startswith("| one server, two Sanic workers") and rows[3].endswith(" | 45.0 | 1.50× | 1900 | 2 |")
    assert "20 REST\nvisitors without think time" in scale and "2 cores" in scale

    # The limits behind missed serving goals, under the side-by-side table.
    side = section(text, "## Side by side with a stock Rasa bot")
    assert "holds 520 MiB before any model is loaded, 87% of the 600 MiB goal" in side
    assert "two processes served 1.60× (two replicas) and 1.50× (two workers on one port)" in side

    results.scale_out = results.rasa_import_mib = None
    text = report.write(results, tmp_path).read_text()
    assert "Not measured in this run" in section(text, "## More than one")
    assert "Limits measured" not in text
