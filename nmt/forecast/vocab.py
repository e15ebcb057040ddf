"""What a forecaster learns from its training data besides weights (the role a vocabulary plays
for text): each series' and covariate's scaling, fitted on the training part of the time axis
only, so that nothing of the validation or test values reaches training. Saved in the run
directory as scaling.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from nmt.engine.rundir import write_json
from nmt.errors import NmtError

SCALING_FILE = "scaling.json"


@dataclass
class SeriesScaling:
    """value -> (value - center) / scale, per column."""

    target_names: list[str]
    target_center: list[float]
    target_scale: list[float]
    covariate_names: list[str]
    covariate_center: list[float]
    covariate_scale: list[float]

    @classmethod
    def fit(
        cls, targets: np.ndarray, covariates: np.ndarray, target_names: list[str],
        covariate_names: list[str], how: str,
    ) -> SeriesScaling:  # fmt: skip
        """Statistics of the rows given (the training part), missing values ignored. 'none'
        keeps the values as they are."""
        target_center, target_scale = _statistics(targets, target_names, how)
        covariate_center, covariate_scale = _statistics(covariates, covariate_names, how)
        return cls(target_names, target_center, target_scale, covariate_names,
                   covariate_center, covariate_scale)  # fmt: skip

    def scale_targets(self, values: np.ndarray) -> np.ndarray:
        return (values - np.asarray(self.target_center)) / np.asarray(self.target_scale)

    def unscale_targets(self, values: np.ndarray, columns: np.ndarray | list[int]) -> np.ndarray:
        """Scaled values of target columns `columns` (one per leading row) back in units."""
        columns = np.asarray(columns)
        scale = np.asarray(self.target_scale)[columns]
        center = np.asarray(self.target_center)[columns]
        shape = (-1,) + (1,) * (values.ndim - 1)
        return values * scale.reshape(shape) + center.reshape(shape)

    def scale_covariates(self, values: np.ndarray) -> np.ndarray:
        if not self.covariate_names:
            return values
        return (values - np.asarray(self.covariate_center)) / np.asarray(self.covariate_scale)

    def save(self, run_dir: Path) -> None:
        write_json(Path(run_dir) / SCALING_FILE, asdict(self))

    @classmethod
    def load(cls, run_dir: Path) -> SeriesScaling:
        path = Path(run_dir) / SCALING_FILE
        try:
            data = json.loads(path.read_text("utf-8"))
            # Keys of runs saved before a field was dropped (season_length, frequency) are skipped.
            return cls(**{f.name: data[f.name] for f in fields(cls)})
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise NmtError(f"{path}: not a scaling file this version reads ({error})") from None


def _statistics(values: np.ndarray, names: list[str], how: str) -> tuple[list[float], list[float]]:
    if how == "none" or values.shape[1] == 0:
        return [0.0] * values.shape[1], [1.0] * values.shape[1]
    centers, scales = [], []
    for column, name in enumerate(names):
        observed = values[:, column][~np.isnan(values[:, column])]
        if observed.size == 0:
            raise NmtError(f"'{name}' has no observed value in the training part of the series")
        spread = float(observed.std())
        centers.append(float(observed.mean()))
        scales.append(spread if spread > 1e-12 else 1.0)  # a constant column stays as it is
    return centers, scales
