"""`python -m bench [--quick] [--serving-only] [--skip-stock] [--skip-scale-out]`: answer quality and serving
speed, written to docs/benchmarks.md.

The full run (`make bench`) takes about 80 minutes on 2 cores (each of the 5 cross-validation folds trains the
whole NLU, ~10 min; serving, the stock bot and the two-process levels ~20 min).
`--quick` runs the same code small (2 folds on 12 examples per label, 1 and 5 visitors for 5 s, no
training timing) and writes to a temporary folder: for checking the benchmark itself, not for figures.

Serving is measured side by side with a stock Rasa bot (bench/stock_bot.py): `rasa init`'s, built offline
on the first run (a few minutes of training) and kept in var/bench/stock_bot/ for later runs.
`--serving-only` measures serving alone against the newest model in models/ (no training, no answer
quality) and writes serving.md to a temporary folder (or --out), never docs/benchmarks.md.
Both also measure one Rasa server process against two on the production set-up (bench/scale_out.py:
PostgreSQL and Redis from Debian's packages, started on loopback; `--skip-scale-out` leaves it out).
"""
import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Tuple

from bench import PROJECT_DIR


@dataclass(frozen=True)
class Plan:
    folds: int
    examples_per_label: Optional[int]  # cap per label in cross-validation (None: all the training data)
    levels: Tuple[int, ...]  # concurrent visitors
    level_seconds: float
    level_conversations: int
    breakdown_samples: int
    time_training: bool
    scale_out_visitors: int  # bench/scale_out.py: at saturation, one Rasa process against two
    scale_out_seconds: float


FULL = Plan(folds=5, examples_per_label=None, levels=(1, 10, 50, 100), level_seconds=15, level_conversations=300,
            breakdown_samples=30, time_training=True, scale_out_visitors=20, scale_out_seconds=30)
QUICK = Plan(folds=2, examples_per_label=12, levels=(1, 5), level_seconds=5, level_conversations=10,
             breakdown_samples=5, time_training=False, scale_out_visitors=4, scale_out_seconds=5)
THINK_TIMES = (1.0, 0.0)


def commit_id() -> str:
    """HEAD's short id, read from .git (as `git rev-parse --short HEAD`), or "uncommitted"."""
    git = PROJECT_DIR / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:7]
        ref = head[len("ref: "):]
        if (git / ref).exists():
            return (git / ref).read_text().strip()[:7]
        packed = (git / "packed-refs").read_text().splitlines()
        return next(line.split()[0][:7] for line in packed if line.endswith(" " + ref))
    except (OSError, StopIteration):
        return "uncommitted"


def time_training() -> float:
    """Seconds for `rasa train --force` of the whole model into a temporary folder."""
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "scripts/with_env.py", str(Path(sys.executable).parent / "rasa"),
             "train", "--force", "--quiet", "--out", out],
            cwd=PROJECT_DIR, check=True, stdout=subprocess.DEVNULL,
        )
        return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Answer quality and serving speed, written to docs/benchmarks.md.",
        epilog="Serving is measured side by side with a stock Rasa bot, built offline by `rasa init --no-prompt` "
        "on the first run (a few minutes of training) and kept in var/bench/stock_bot/rasa-<version>/.",
    )
    parser.add_argument("--quick", action="store_true", help="a small run, written to a temporary folder")
    parser.add_argument(
        "--serving-only", action="store_true",
        help="serving speed only, side by side with the stock Rasa bot, against the newest model in models/ "
        "(nothing trained but the stock bot's first build; no answer quality); writes serving.md to a temporary "
        "folder or --out, never docs/",
    )
    parser.add_argument(
        "--skip-stock", action="store_true",
        help="no stock Rasa bot: its side-by-side columns read 'not run' (nothing built)",
    )
    parser.add_argument(
        "--skip-scale-out", action="store_true",
        help="no one-process against two-process levels on the production set-up (PostgreSQL, Redis)",
    )
    parser.add_argument(
        "--out", type=Path,
        help="folder for benchmarks.md and benchmarks/ (default: docs/; a temporary folder with --quick or "
        "--serving-only)",
    )
    args = parser.parse_args()
    clock = time.monotonic()
    plan = QUICK if args.quick else FULL
    temporary = args.quick or args.serving_only
    docs_dir = args.out or (Path(tempfile.mkdtemp(prefix="bench-")) if temporary else PROJECT_DIR / "docs")

    # Benchmarks train from scratch and leave the shared training cache (.rasa/) alone.
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    from bench import load, report, stock_bot
    from scripts.evaluate_nlu import latest_model
    from scripts.live_stack import start

    stages = {}

    def stage_done(name: str) -> None:
        nonlocal clock
        stages[name] = time.monotonic() - clock
        clock = time.monotonic()
        print(f"{name}: {stages[name] / 60:.1f} min", flush=True)

    model_path = latest_model()
    stock_dir = None
    if not args.skip_stock:  # first, so that a build that cannot work stops the run at once
        stock_dir = stock_bot.build()
        stage_done("stock bot build")
    heldout, thresholds, cross_validation, training_seconds = {}, {}, {}, None
    if not args.serving_only:
        from bench import quality
        from bench.baselines import CachingMiniLMEncoder

        encoder = CachingMiniLMEncoder()
        print(f"Held-out quality ({Path(model_path).name})...", flush=True)
        heldout, thresholds = quality.heldout_quality(model_path, encoder)
        stage_done("held-out quality")
        print(f"{plan.folds}-fold cross-validation...", flush=True)
        cross_validation = quality.cross_validated_quality(plan.folds, encoder, plan.examples_per_label)
        stage_done("cross-validation")
        if plan.time_training:
            print("Timing a full training...", flush=True)
            training_seconds = time_training()
            stage_done("training time")

    print("Serving...", flush=True)
    with tempfile.TemporaryDirectory() as data_dir:
        assistant = start(Path(data_dir))
        try:
            levels = load.run_levels(
                assistant, list(plan.levels), list(THINK_TIMES), plan.level_seconds, plan.level_conversations
            )
            breakdown = asyncio.run(load.component_timings(assistant, plan.breakdown_samples))
            profile = load.profile_visit(assistant, model_path)
        finally:
            assistant.stop()
    stage_done("serving")

    stock_levels = []
    if stock_dir:
        # After this assistant's servers have stopped: the two never share the cores.
        print(f"Serving, stock Rasa bot ({stock_dir.name}, REST)...", flush=True)
        with tempfile.TemporaryDirectory() as log_dir:
            bot = stock_bot.start(stock_dir, Path(log_dir))
            try:
                stock_levels = load.run_levels(
                    bot, list(plan.levels), list(THINK_TIMES), plan.level_seconds, plan.level_conversations,
                    channels=("rest",), visits=stock_bot.StockBotVisits(), label="stock ",
                )
            finally:
                bot.stop()
        stage_done("stock bot serving")

    scale_out = None
    if not args.skip_scale_out:
        from bench import scale_out as scale_out_levels

        print("Serving, one Rasa process against two (PostgreSQL, Redis, REST)...", flush=True)
        scale_out = scale_out_levels.measure(plan.scale_out_visitors, plan.scale_out_seconds, plan.level_conversations)
        for name, level in (("one process", scale_out.one_process), ("two replicas", scale_out.two_replicas),
                            ("two workers", scale_out.two_workers)):
            print(f"  {name:12}: {level.messages_per_second:.1f} msg/s, p95 {level.latency_ms(95):.0f} ms, "
                  f"{level.error_count} errors", flush=True)
        stage_done("scale-out")

    import_mib = load.rasa_import_mib()
    print(f"A process with Rasa's server imported and no model: {import_mib:.0f} MiB", flush=True)

    results = report.Results(
        timestamp=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), commit=commit_id(),
        heldout=heldout, thresholds=thresholds, cross_validation=cross_validation, folds=plan.folds,
        levels=levels, level_seconds=plan.level_seconds, level_conversations=plan.level_conversations,
        breakdown=breakdown, profile=profile, model_path=model_path, model_bytes=Path(model_path).stat().st_size,
        training_seconds=training_seconds, stage_seconds=stages, stock_levels=stock_levels,
        stock_build=stock_bot.build_info(stock_dir) if stock_dir else None, scale_out=scale_out,
        rasa_import_mib=import_mib,
    )
    written = (report.write_serving if args.serving_only else report.write)(results, docs_dir)
    print(f"Written: {written} (total {results.total_seconds / 60:.1f} min)")
    if not args.serving_only:
        for name, measured, met in report.targets(results):
            print(f"  {mark(met)}  {name}: {measured}")
    print("Side by side with the stock Rasa bot (this machine's figures):")
    for row in report.side_by_side(results):
        print(f"  {mark(row.met)}  {row.measure}: ours {row.ours_text}, stock {row.stock_text}, ratio {row.ratio} "
              f"(goal: {row.goal})")
    return 0


def mark(met: Optional[bool]) -> str:
    return "met    " if met else "not run" if met is None else "MISSED "


if __name__ == "__main__":
    sys.exit(main())
