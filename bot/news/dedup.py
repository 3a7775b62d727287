"""A bounded memory of what a live source has already handed out.

A daemon fetches for weeks: remembering every guid for ever would grow without limit, so the
oldest keys are forgotten past ``capacity``. Forgetting is safe: the journal's (source, guid)
uniqueness and ``known_title_keys`` still stop a re-sighted story from counting as new.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class SeenKeys:
    """Insertion-ordered set of keys with a size cap (oldest dropped first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: Hashable) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.capacity:
            self._keys.popitem(last=False)
