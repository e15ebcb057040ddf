"""The run directory every task writes, and atomic writing into it (standard library only).

    RUN/config.yaml      the resolved config
    RUN/metadata.json    versions, sizes, best validation scores and their step
    RUN/model.pt         weights of the best validation score (a plain state dict)
    RUN/lightning/       last.ckpt, best.ckpt (full training state) and step-NNNNNN.ckpt
    RUN/logs/            metrics.csv
plus what the task needs to serve the model alone (tokenizer/, vocab.json, ...).

Every file is written to a temporary name in its folder and renamed into place, so an interrupted
save never leaves a broken file, and a directory made by `atomic_directory` appears complete or
not at all.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nmt.errors import NmtError

CONFIG_FILE = "config.yaml"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.pt"
LIGHTNING_DIR = "lightning"
LAST_CHECKPOINT = "last.ckpt"
LOGS_DIR = "logs"
REPORT_JSON = "report.json"  # what every `evaluate --report DIR` writes, with report.md
REPORT_MARKDOWN = "report.md"


def _umask() -> int:
    """The process's umask (read at call time: there is no call that only reads it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(temporary path) in path's folder, then rename it over path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes files private; keep the usual mode
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_text(path: Path, text: str) -> None:
    atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def write_report_files(folder: str | Path, data: dict[str, Any], markdown: str) -> None:
    """An evaluation report: FOLDER/report.json (the figures) and FOLDER/report.md (for people)."""
    write_json(Path(folder) / REPORT_JSON, data)
    write_text(Path(folder) / REPORT_MARKDOWN, markdown)


def atomic_directory(path: Path, fill: Callable[[Path], None]) -> Path:
    """Call fill(temporary sibling folder), then rename it to `path`, which must not exist: no
    half-written directory is ever seen under `path`, and nothing there is overwritten."""
    path = Path(path)
    if path.exists():
        raise NmtError(f"{path} already exists; choose a new output directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        fill(temporary)
        os.chmod(temporary, 0o777 & ~_umask())  # mkdtemp makes folders private
        if path.exists():  # rename would silently replace an empty directory
            raise NmtError(f"{path} already exists; choose a new output directory")
        try:
            os.rename(temporary, path)
        except OSError as error:
            raise NmtError(f"{path}: cannot create ({error.strerror})") from None
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)
    return path


def read_metadata(run_dir: Path) -> dict[str, Any]:
    """RUN/metadata.json, or {} when there is none yet."""
    path = Path(run_dir) / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise NmtError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise NmtError(f"{path}: expected a JSON object")
    return data


def metric_key(metric: str) -> str:
    """How a logged metric is named in metadata.json: val/bleu -> val_bleu."""
    return metric.replace("/", "_")


def check_run_dir(run_dir: str | Path, names: Sequence[str], kind: str = "") -> Path:
    """The checkpoint directory, checked to hold `names` (kind: "tagger " etc. for messages)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NmtError(f"{run_dir}: no such checkpoint directory")
    for name in names:
        if not (run_dir / name).exists():
            raise NmtError(
                f"{run_dir}: not a complete {kind}checkpoint directory, {name} is missing"
                + (" (no validation has finished yet)" if name == WEIGHTS_FILE else "")
            )
    return run_dir


def new_run_dir(run_dir: Path, resume_command: str) -> Path:
    """Create the directory of a new run; one that already holds a run is never overwritten."""
    run_dir = Path(run_dir)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise NmtError(
            f"{run_dir} already holds a run; continue it with `{resume_command} {run_dir}` or "
            "choose another name=... or output_dir=..."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def resume_checkpoint(run_dir: Path) -> Path:
    """The Lightning checkpoint an interrupted run continues from, checked to exist."""
    run_dir = Path(run_dir)
    checkpoint = run_dir / LIGHTNING_DIR / LAST_CHECKPOINT
    if not (run_dir / CONFIG_FILE).is_file():
        raise NmtError(f"{run_dir}: no {CONFIG_FILE}; is this a directory written by `nmt`?")
    if not checkpoint.is_file():
        raise NmtError(f"{run_dir}: nothing to resume from, {checkpoint} does not exist yet")
    return checkpoint


def free_run_name(output_dir: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3`, ... : the first that does not exist, so no run is lost."""
    candidate, number = name, 1
    while (Path(output_dir) / candidate).exists():
        number += 1
        candidate = f"{name}-{number}"
    return candidate
