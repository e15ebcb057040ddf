"""Where a run's time and memory go: named phases (reading the corpus, the tokenizer, encoding,
training, validation), each with its wall time and the peak resident memory of the process while
it ran, and events (when the first training step started), written to RUN/logs/phases.json.

The peak of one phase cannot come from the kernel's high-water mark (it only ever rises, and
resetting it would hide the whole run's peak from `/usr/bin/time`), so a daemon thread samples
the resident size every `interval` seconds while some phase is open; the samples at a phase's
start and end are taken too, so a phase shorter than the interval still has a figure.
"""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4096 / 2**20
_IMPORTED_AT = time.time()


def resident_mib() -> float:
    """The process's resident memory now, in MiB (its peak so far where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_MIB
    except OSError:
        return peak_rss_mib()


def peak_rss_mib() -> float:
    """The process's peak resident memory so far, in MiB (what `/usr/bin/time -v` reports)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_start_time() -> float:
    """When this process started (Unix time), from /proc; else when nmt's engine was imported."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as uptime:
            uptime_seconds = float(uptime.read().split()[0])
        return time.time() - uptime_seconds + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return _IMPORTED_AT


_commands = {"count": 0, "last_began": 0.0}  # commands the CLI has begun in this process


def command_begins() -> None:
    """Called by the CLI for each command: a process that runs several (a benchmark script, the
    tests) times each from its own beginning, the first one from the process's start."""
    _commands["count"] += 1
    _commands["last_began"] = time.time()


def run_start_time() -> float:
    """When the current command began: the process's start for the first command (imports are
    part of what a user waits for), the command's own beginning for any later one."""
    return _commands["last_began"] if _commands["count"] > 1 else process_start_time()


class PhaseLog:
    """Phases of one run: total seconds, times entered, peak resident MiB, and when each was
    first entered (seconds after the run started: nmt.engine.phases.run_start_time). A phase
    entered again (training between validations) adds up."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.started_at = run_start_time()
        self.phases: dict[str, dict[str, Any]] = {}
        self.events: dict[str, float] = {}
        self._open: str | None = None
        self._entered = 0.0
        self._peak = 0.0
        self._lock = threading.Lock()
        self._generation = 0

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (a spawned DDP process gets a copy): without the lock, and no phase open."""
        state = {**self.__dict__, "_lock": None, "_open": None}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    @property
    def current(self) -> str | None:
        """The open phase's name."""
        return self._open

    def since_start(self) -> float:
        return time.time() - self.started_at

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase `name` (phases do not nest: an open one is closed first)."""
        self.enter(name)
        try:
            yield
        finally:
            self.leave()

    def enter(self, name: str) -> None:
        self.leave()
        with self._lock:
            self._open, self._entered, self._peak = name, time.perf_counter(), resident_mib()
            self._generation += 1
            generation = self._generation
        self._start_sampler(generation)

    def leave(self) -> None:
        """Close the open phase, if any, and add it up."""
        with self._lock:
            if self._open is None:
                return
            name, seconds = self._open, time.perf_counter() - self._entered
            peak = max(self._peak, resident_mib())
            self._open = None
        record = self.phases.setdefault(
            name, {"seconds": 0.0, "times": 0, "peak_rss_mib": 0.0,
                   "first_at": round(self.since_start() - seconds, 2)},
        )  # fmt: skip
        record["seconds"] = round(record["seconds"] + seconds, 3)
        record["times"] += 1
        record["peak_rss_mib"] = round(max(record["peak_rss_mib"], peak))

    def mark(self, event: str) -> float:
        """Note that `event` happened now (seconds after the process started), once."""
        return self.events.setdefault(event, round(self.since_start(), 2))

    def report(self) -> dict[str, Any]:
        return {"phases": self.phases, "events": self.events,
                "peak_rss_mib": round(peak_rss_mib())}  # fmt: skip

    def write(self, path: Path) -> None:
        """Write `report()` as JSON (replaced whole, never half-written)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(path.name + ".tmp")
        staging.write_text(json.dumps(self.report(), indent=2) + "\n", encoding="utf-8")
        staging.replace(path)

    def _start_sampler(self, generation: int) -> None:
        """A sampling thread for the phase just entered; it ends with the phase."""
        threading.Thread(
            target=self._sample, args=(generation,), name="nmt-rss", daemon=True
        ).start()

    def _sample(self, generation: int) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                if self._generation != generation or self._open is None:
                    return
                self._peak = max(self._peak, resident_mib())
