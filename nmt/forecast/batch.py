"""Sliding windows over scaled series: where the time axis is split, which windows each part
owns, and batches of them.

The time axis is cut chronologically: training steps, then `validation_steps`, then
`test_steps` at the end. A window is `input_length` steps of the past and the `horizon` steps
after them (its targets), named by its origin, the first target step. A part owns the windows
whose targets lie wholly inside it: training windows never see a validation or test value, not
even as an input; validation and test windows may read earlier parts as their past, as a
forecast made at that time would.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from nmt.errors import NmtError


class SplitPoints(NamedTuple):
    train_end: int  # first step after the training part
    validation_end: int  # first step of the test part
    length: int


def split_points(
    length: int, validation_steps: int, test_steps: int, input_length: int, horizon: int
) -> SplitPoints:
    """Where the parts of a series of `length` steps end; the training part must hold at least
    one window."""
    train_end = length - validation_steps - test_steps
    if train_end < input_length + horizon:
        raise NmtError(
            f"a series of {length} steps leaves {max(train_end, 0)} for training after "
            f"{validation_steps} validation and {test_steps} test steps, fewer than one window "
            f"needs ({input_length} inputs + {horizon} targets); shorten data.input_length, "
            "data.horizon, data.validation_size or data.test_size"
        )
    return SplitPoints(train_end, length - test_steps, length)


def window_origins(
    first: int, end: int, input_length: int, horizon: int, stride: int = 1
) -> list[int]:
    """Origins of the windows whose targets lie in steps [first, end), `stride` apart, each
    with `input_length` steps before it."""
    start = max(first, input_length)
    return list(range(start, end - horizon + 1, stride))


class ForecastBatch(NamedTuple):
    inputs: torch.Tensor  # [B, L, F] scaled: the target, the covariates, (mask) observed flag
    targets: torch.Tensor  # [B, H] scaled, 0 where missing
    observed: torch.Tensor  # [B, H] bool
    series: torch.Tensor  # [B] target column of each window
    origins: torch.Tensor  # [B] first target step


class SeriesWindows:
    """Every series of a table as model inputs, cut into windows on demand.

    `values` `[S, T]` are the scaled targets (NaN where missing), `covariates` `[T, C]` the
    scaled covariates shared by all series; with `observed_flag` each step's inputs end with
    1 where the target was observed, 0 where not (and the value is 0)."""

    def __init__(
        self, values: np.ndarray, covariates: np.ndarray, input_length: int,
        observed_flag: bool = False,
    ) -> None:  # fmt: skip
        observed = ~np.isnan(values)
        series, steps = values.shape
        parts = [np.nan_to_num(values, nan=0.0)[:, :, None]]
        if covariates.shape[1]:
            parts.append(np.broadcast_to(covariates, (series, steps, covariates.shape[1])))
        if observed_flag:
            parts.append(observed[:, :, None].astype(np.float64))
        self.features = torch.from_numpy(np.concatenate(parts, axis=2).astype(np.float32))
        self.targets = torch.from_numpy(np.nan_to_num(values, nan=0.0).astype(np.float32))
        self.observed = torch.from_numpy(observed)
        self.input_length = input_length

    @property
    def feature_size(self) -> int:
        return self.features.size(2)

    def batch(self, series: torch.Tensor, origins: torch.Tensor, horizon: int) -> ForecastBatch:
        """The windows at `origins` of `series`: inputs before each origin, `horizon` targets
        from it."""
        past = origins[:, None] + torch.arange(-self.input_length, 0)
        future = origins[:, None] + torch.arange(horizon)
        rows = series[:, None]
        return ForecastBatch(
            self.features[rows, past], self.targets[rows, future], self.observed[rows, future],
            series, origins,
        )  # fmt: skip

    def inputs_before(self, series: int, origin: int) -> torch.Tensor:
        """The input window `[1, L, F]` that ends just before `origin`."""
        return self.features[series, origin - self.input_length : origin][None]


class WindowIndex(torch.utils.data.Dataset):
    """(series, origin) pairs of one part; batches come from `collate`."""

    def __init__(self, windows: SeriesWindows, origins: list[int], horizon: int) -> None:
        count = windows.features.size(0)
        self.pairs = [(s, o) for s in range(count) for o in origins]
        self.windows = windows
        self.horizon = horizon

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[int, int]:
        return self.pairs[index]

    def collate(self, pairs: list[tuple[int, int]]) -> ForecastBatch:
        series, origins = zip(*pairs)
        return self.windows.batch(torch.tensor(series), torch.tensor(origins), self.horizon)
