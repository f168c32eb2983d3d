"""Sliding-window limits on how often one key (a visitor's IP address, a conversation) may send.

The well-kept `limits` library would do this, but it needs a newer `packaging` than Rasa 3.6
allows. Counts live in each Rasa server's memory: with N replicas a key can get up to N times a
limit, so the reverse proxy's own limit (deploy/nginx) is the bound shared by all replicas.

The two bounds protect different things. Per IP (web chat only) is generous on purpose: a clinic's
waiting room, a school or a phone carrier's NAT puts many visitors behind one address, and a
tight bound would shut all of them out at once, the one in crisis included. 600 a minute is about
60 visitors each typing at their fastest; a flood from one address is still stopped there, and
what gets through is bounded per conversation. Per conversation (every channel) is strict: one
person types at most a few messages a minute, so 30 a minute stops a script without ever
stopping a person. The price of the generous IP bound: one address that spreads its messages
over many conversation ids can make up to 600 messages a minute of work (the NLU's), which a
single Rasa server absorbs (docs/reliability.md); the proxy's limit stays the outer bound.
"""
import time
from collections import OrderedDict, deque
from functools import lru_cache
from typing import Callable, Deque

from sanic.request import Request

from clinic import settings

DEFAULT_IP_PER_MINUTE = settings.Settings.__fields__["RATE_LIMIT_IP_PER_MINUTE"].default
DEFAULT_SENDER_PER_MINUTE = settings.Settings.__fields__["RATE_LIMIT_SENDER_PER_MINUTE"].default


class SlidingWindowLimiter:
    """At most `per_minute` hits per key in any 60 seconds; 0 turns the limit off.

    Memory is bounded: beyond `max_keys` keys the least recently seen key is forgotten.
    """

    def __init__(
        self, per_minute: int, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self.clock = clock
        self._hits: "OrderedDict[str, Deque[float]]" = OrderedDict()

    def allow(self, key: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            if len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - 60.0:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return False
        hits.append(now)
        return True


@lru_cache(maxsize=None)
def ip_limiter() -> SlidingWindowLimiter:
    """Requests per visitor IP on the web chat endpoints (REST and Socket.IO)."""
    return SlidingWindowLimiter(settings.current().RATE_LIMIT_IP_PER_MINUTE)


@lru_cache(maxsize=None)
def sender_limiter() -> SlidingWindowLimiter:
    """Messages per conversation, on every channel."""
    return SlidingWindowLimiter(settings.current().RATE_LIMIT_SENDER_PER_MINUTE)


@lru_cache(maxsize=None)
def slow_down_notice_limiter() -> SlidingWindowLimiter:
    """A conversation over its limit is told so once a minute, not once per dropped message."""
    return SlidingWindowLimiter(1)


def client_ip(request: Request) -> str:
    """The visitor's address: from the proxy's X-Forwarded-For only when Sanic is told to trust it
    (SANIC_PROXIES_COUNT or SANIC_REAL_IP_HEADER), else the connection's own address."""
    return request.remote_addr or request.ip
