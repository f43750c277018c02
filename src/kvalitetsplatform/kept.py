"""Kept values: a thread-safe store of values by key, the least recently used dropped first (rendered page blocks,
a source's answers, drawn charts)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock
from typing import Any


class Kept:
    """Values by key, at most `size` of them; `hits` and `misses` count the look-ups since the last `clear`."""

    def __init__(self, size: int = 512):
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = Lock()
        self.hits = self.misses = 0

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._values.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
                self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self.hits = self.misses = 0
