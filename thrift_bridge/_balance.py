"""Which endpoint the next call goes to: round robin, skipping endpoints cooling down. No I/O."""

from __future__ import annotations

import itertools
import time

__all__ = ["RoundRobin"]


class RoundRobin:
    """Turns over `count` endpoints; one that failed to connect sits out `cooldown` seconds.

    The turn goes round the usable endpoints only, so a cooling endpoint's share is spread
    evenly over the others rather than handed to its neighbour.
    """

    def __init__(self, count: int, cooldown: float):
        self.count = count
        self.cooldown = cooldown
        self._down_until = [0.0] * count
        self._turn = itertools.count()

    def pick(self, avoid: int = -1) -> int:
        """The next endpoint's index; `avoid` (the one that just failed) only if none else."""
        count = self.count
        if count == 1:
            return 0
        now = time.monotonic()
        turn = next(self._turn)
        down = self._down_until
        usable = [index for index in range(count) if index != avoid and down[index] <= now]
        if usable:
            return usable[turn % len(usable)]
        return min(range(count), key=down.__getitem__)  # all cooling: the soonest back

    def cooling(self) -> list[int]:
        """The endpoints sitting out their cooldown now."""
        now = time.monotonic()
        return [index for index, until in enumerate(self._down_until) if until > now]

    def connect_failed(self, index: int) -> None:
        """Endpoint `index` could not be connected to: skip it for `cooldown` seconds."""
        self._down_until[index] = time.monotonic() + self.cooldown
