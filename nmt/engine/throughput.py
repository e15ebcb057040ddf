"""Training tokens per second, as the progress bar and the metrics log show them."""

from __future__ import annotations

import time
from typing import NamedTuple


class Rate(NamedTuple):
    tgt: float
    src: float


class TokenRate:
    """Training tokens per second over recent steps, measured wall-clock from one step's end to
    the next (so data loading counts), with validation and the first step left out."""

    def __init__(self, window: int = 50) -> None:
        self.window = window
        self._last_tick: float | None = None
        self._pending = (0, 0)
        self._history: list[tuple[float, int, int]] = []

    def add(self, tgt_tokens: int, src_tokens: int) -> None:
        self._pending = (tgt_tokens, src_tokens)

    def tick(self) -> None:
        now = time.perf_counter()
        if self._last_tick is not None:
            self._history.append((now - self._last_tick, *self._pending))
            self._history = self._history[-self.window :]
        self._last_tick = now

    def pause(self) -> None:
        self._last_tick = None

    def rate(self) -> Rate | None:
        if not self._history:
            return None
        seconds = sum(h[0] for h in self._history)
        return Rate(
            sum(h[1] for h in self._history) / seconds, sum(h[2] for h in self._history) / seconds
        )
