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
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nmt.errors import NmtError

logger = logging.getLogger(__name__)

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


def check_output_file(path: str | Path) -> Path:
    """An output file's path, checked before any work is done: not a directory, and in a place
    where a file can be made (its folder may still have to be created)."""
    path = Path(path)
    if path.is_dir():
        raise NmtError(f"{path}: is a directory; give the name of a file to write")
    _check_writable_place(path)
    return path


def check_output_dir(path: str | Path) -> Path:
    """An output folder's path (a report's), checked before any work is done."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NmtError(f"{path}: is a file; give the name of a folder to write in")
    if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise NmtError(f"{path}: cannot be written, no permission to write in it")
    _check_writable_place(path)
    return path


def _check_writable_place(path: Path) -> None:
    """The nearest existing folder above `path` must be a folder we may write in."""
    above = path.absolute().parent
    while not above.exists():
        above = above.parent
    if not above.is_dir():
        raise NmtError(f"{path}: cannot be made, {above} is a file, not a folder")
    if not os.access(above, os.W_OK | os.X_OK):
        raise NmtError(f"{path}: cannot be written, no permission to write in {above}")


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


def holds_checkpoint(run_dir: Path) -> bool:
    """Whether a run directory holds trained weights (model.pt or any Lightning checkpoint)."""
    run_dir = Path(run_dir)
    return (run_dir / WEIGHTS_FILE).exists() or any((run_dir / LIGHTNING_DIR).glob("*.ckpt"))


def clear_unfinished_run(run_dir: Path, task_files: Sequence[str]) -> None:
    """Empty a run directory that holds no checkpoint (a run there stopped before its first
    validation), so that it can start again. Only what runs write there goes: the engine's
    files, the task's `task_files` and temporary files; anything else stops with an error."""
    run_dir = Path(run_dir)
    known = {CONFIG_FILE, METADATA_FILE, LIGHTNING_DIR, LOGS_DIR, *task_files}
    entries = sorted(run_dir.iterdir())
    foreign = [
        e.name for e in entries
        if e.name not in known and not (e.name.startswith(".") and e.name.endswith(".tmp"))
    ]  # fmt: skip
    if foreign:
        raise NmtError(
            f"{run_dir} holds files no run wrote ({', '.join(foreign[:3])}); choose another "
            "name=... or output_dir=..."
        )
    logger.warning(
        "%s holds no checkpoint (a run there stopped before its first validation): starting it "
        "again", run_dir,
    )  # fmt: skip
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def new_run_dir(run_dir: Path, resume_command: str, task_files: Sequence[str] = ()) -> Path:
    """Create the directory of a new run. One that holds a checkpoint is never overwritten; one
    that holds only what an unfinished run left (no checkpoint) is emptied and used again."""
    run_dir = Path(run_dir)
    if run_dir.exists() and any(run_dir.iterdir()):
        if holds_checkpoint(run_dir):
            raise NmtError(
                f"{run_dir} already holds a run; continue it with `{resume_command} {run_dir}` "
                "or choose another name=... or output_dir=..."
            )
        clear_unfinished_run(run_dir, task_files)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def free_run_name(output_dir: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3`, ... : the first that does not exist, so no run is lost."""
    candidate, number = name, 1
    while (Path(output_dir) / candidate).exists():
        number += 1
        candidate = f"{name}-{number}"
    return candidate
