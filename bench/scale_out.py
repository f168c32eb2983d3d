"""Scale-out: the production set-up (scripts/production_stack.py: PostgreSQL tracker store, Redis lock
store, one action server) with one Rasa server process busy, then two, in the same run.

Two ways to two processes, each measured against the same one-process level: two replicas on ports of
their own (as docker-compose.yml runs them, nginx spreading the visitors), and one server with two Sanic
workers behind its one port (Rasa's SANIC_WORKERS). The servers not in a level idle meanwhile. Same
visitors, messages and bounds at every level; a ratio is a level's messages per second over the
one-process level's.
"""
import asyncio
import os
from dataclasses import dataclass
from typing import Optional

from bench.load import ClinicVisits, LevelResult, run_level

CHANNEL = "rest"
THINK_SECONDS = 0.0  # saturation: every visitor sends its next message as soon as it has the answer
WARM_UP_SECONDS = 120.0


@dataclass
class ScaleOut:
    one_process: LevelResult
    two_replicas: LevelResult
    two_workers: LevelResult
    seconds: float  # each level's bounds
    conversations: int
    cores: int

    def ratio(self, level: LevelResult) -> Optional[float]:
        one = self.one_process.messages_per_second
        return level.messages_per_second / one if one else None


def measure(visitors: int, seconds: float, conversations: int) -> ScaleOut:
    from scripts import production_stack

    # No per-IP limit, as in scripts/live_stack.py: every simulated visitor comes from 127.0.0.1, where real ones
    # have addresses of their own, so with the limit on a fast enough server answered the load generator 429.
    stack = production_stack.start(replicas=2, extra_env={"RATE_LIMIT_IP_PER_MINUTE": "0"})
    try:
        urls = [stack.url(0), stack.url(1)]

        def level(replica_urls, count: int, level_seconds: float, visits: int) -> LevelResult:
            return asyncio.run(
                run_level(None, CHANNEL, count, THINK_SECONDS, level_seconds, visits,
                          visits=ClinicVisits(), replica_urls=replica_urls)
            )

        workers_url = stack.url(stack.add_rasa(workers=2))
        level(urls + [workers_url, workers_url], 4, WARM_UP_SECONDS, 4)  # warm-up, not measured: every server
        one = level(urls[:1], visitors, seconds, conversations)
        two_replicas = level(urls, visitors, seconds, conversations)
        two_workers = level([workers_url], visitors, seconds, conversations)
    finally:
        stack.shutdown()
    return ScaleOut(one, two_replicas, two_workers, seconds, conversations, os.cpu_count() or 1)
