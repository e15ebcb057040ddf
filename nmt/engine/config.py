"""Typed configuration: one dataclass per component, YAML recipes, dotted overrides.

Defaults live once, in dataclasses: the sections every task shares (`OptimConfig`,
`TrainerConfig`, the run fields of `RunConfig`) here, each task's own in its package. A recipe
(`nmt/configs/NAME.yaml` or any YAML file) lists only what differs, and `key.sub=value` overrides
from the command line come last. Every key and value is checked here, at the boundary, with
errors that name the file and key and list the valid choices; modules further in take plain
typed arguments.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal, Union

import yaml

from nmt.engine.rundir import write_text
from nmt.errors import NmtError


@dataclass
class OptimConfig:
    """Optimiser, learning-rate schedule and loss."""

    optimizer: Literal["adam", "adamw"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    label_smoothing: float = 0.1
    # budget: the base rate, then a linear decay to min_lr over the last decay_fraction of
    # trainer.max_minutes (a wall-clock budget has no step count known in advance)
    schedule: Literal["constant", "plateau", "inverse_sqrt", "budget"] = "plateau"
    warmup_steps: int = 1000  # inverse_sqrt: linear warm-up, then lr * sqrt(warmup / step)
    plateau_factor: float = 0.5  # plateau: lr *= factor when the validation score stalls
    plateau_patience: int = 2  # validations without improvement before the lr drops
    min_lr: float = 1e-5
    decay_fraction: float = 0.3  # budget: the share of the wall-clock budget spent decaying


@dataclass
class TrainerConfig:
    """Passed through to the Lightning Trainer, plus run-level settings."""

    max_epochs: int = 20
    max_steps: int = -1
    max_minutes: float | None = None  # wall-clock budget
    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    # auto: bf16-mixed where the device multiplies bfloat16 natively, else 32 (engine/precision.py)
    precision: Literal["32-true", "32", "bf16-mixed", "16-mixed", "auto"] = "32-true"
    gradient_clip_val: float | None = 5.0
    val_check_interval: int | float = 1.0  # fraction of an epoch, or a number of batches
    log_every_n_steps: int = 50
    early_stopping_patience: int | None = None  # validations without a better score: stop
    keep_last_checkpoints: int = 0  # RUN/lightning/step-*.ckpt of the latest validations; 0: none
    seed: int = 1234
    deterministic: bool = False
    progress_bar: bool = True


@dataclass
class RunConfig:
    """The fields of every task's run. A task's config class adds `task` (a one-value Literal
    naming the task), its `data` and `model` sections, and its own optim/trainer defaults."""

    name: str = "run"
    output_dir: str = "checkpoints"
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    # Keys a later version renamed ("model.memory": "model.slot_memory"): recipes, overrides and
    # saved configs that use the old name are read under the new one.
    renamed_keys: ClassVar[dict[str, str]] = {}
    # Keys a later version dropped, ignored where old saved configs still have them.
    retired_keys: ClassVar[tuple[str, ...]] = ()
    former_task_names: ClassVar[tuple[str, ...]] = ()  # older values of `task`, still accepted

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


class WrongTask(NmtError):
    """A recipe written for another task than the one whose command reads it."""

    def __init__(self, message: str, task: str) -> None:
        super().__init__(message)
        self.task = task


def recipe_names() -> list[str]:
    """Names of the YAML recipes shipped in `nmt/configs/`."""
    folder = resources.files("nmt.configs")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def resolve_recipe(name_or_path: str) -> Path:
    """A YAML file path, or the name of a packaged recipe."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    packaged = resources.files("nmt.configs") / f"{name_or_path}.yaml"
    if packaged.is_file():
        return Path(str(packaged))
    raise NmtError(
        f"no config file or recipe named '{name_or_path}'; "
        f"packaged recipes: {', '.join(recipe_names())}"
    )


def load_config(
    name_or_path: str | None, overrides: typing.Sequence[str], kind: type[RunConfig]
) -> Any:
    """Read a recipe (or start from defaults), apply `a.b=value` overrides and validate them
    against the task's config class `kind`; a recipe that names another task raises WrongTask."""
    raw: dict[str, Any] = {}
    source = "defaults"
    if name_or_path is not None:
        path = resolve_recipe(name_or_path)
        source = str(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise NmtError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(raw, dict):
            raise NmtError(
                f"{path}: a config must be a mapping of sections, got {type(raw).__name__}"
            )
    for override in overrides:
        apply_override(raw, override)
    expected = next(f.default for f in dataclasses.fields(kind) if f.name == "task")
    task = raw.get("task", expected)
    if task in kind.former_task_names:
        raw["task"] = task = expected
    if task != expected and isinstance(task, str):
        raise WrongTask(f"{source}: this is a {task} recipe, not a {expected} one", task)
    for key in kind.retired_keys:
        _pop_key(raw, key)
    for old, new in kind.renamed_keys.items():
        _rename_key(raw, old, new)
    return build_dataclass(kind, raw, source)


_ABSENT = object()


def _pop_key(raw: dict[str, Any], key: str) -> Any:
    """Remove and return the value at dotted `key` (_ABSENT when there is none)."""
    *path, last = key.split(".")
    node: Any = raw
    for part in path:
        node = node.get(part)
        if not isinstance(node, dict):
            return _ABSENT
    return node.pop(last, _ABSENT)


def _rename_key(raw: dict[str, Any], old: str, new: str) -> None:
    """Move the value at dotted key `old` to `new` (mappings merge, the new name winning)."""
    value = _pop_key(raw, old)
    if value is _ABSENT:
        return
    *new_path, new_last = new.split(".")
    target = raw
    for part in new_path:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise NmtError(f"config: '{old}' is now '{new}', but '{part}' there is a value")
    current = target.get(new_last)
    if isinstance(value, dict) and isinstance(current, dict):
        value = {**value, **current}
    target[new_last] = value


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Set `a.b.c=value` in a nested dict; the value is parsed as YAML (5, true, null, [1, 2])."""
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise NmtError(f"override '{override}' is not of the form key.sub=value")
    try:
        value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        value = text
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise NmtError(f"override '{override}': '{part}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def build_dataclass(
    cls: type, raw: Any, source: str, prefix: str = "", defaults: Any = None
) -> Any:
    """Check `raw` against dataclass `cls` and construct it; errors say `source: section.key`.

    Keys that `raw` leaves out take their values from `defaults` (an instance of `cls`: the
    default of the field that holds this section, e.g. a task's own trainer defaults), else
    from the class; a mapping given in part keeps its other default keys."""
    if not isinstance(raw, dict):
        raise NmtError(f"{source}: {prefix or 'config'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    specs = {spec.name: spec for spec in dataclasses.fields(cls)}
    unknown = [key for key in raw if key not in specs]
    if unknown:
        raise NmtError(
            f"{source}: unknown key '{prefix}{unknown[0]}'; valid keys"
            f"{' in ' + prefix.rstrip('.') if prefix else ''}: {', '.join(specs)}"
        )
    values = {}
    for key, value in raw.items():
        default = _field_default(specs[key], defaults)
        where = f"{prefix}{key}"
        if dataclasses.is_dataclass(hints[key]):
            values[key] = build_dataclass(hints[key], value, source, f"{where}.", default)
            continue
        values[key] = _coerce(value, hints[key], source, where)
        if isinstance(values[key], dict) and isinstance(default, dict):
            values[key] = {**default, **values[key]}
    if defaults is not None:
        values = {name: getattr(defaults, name) for name in specs} | values
    return cls(**values)


def _field_default(spec: dataclasses.Field, defaults: Any) -> Any:
    """A field's default value: from the enclosing defaults instance, else the field's own."""
    if defaults is not None:
        return getattr(defaults, spec.name)
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return None if spec.default is dataclasses.MISSING else spec.default


def _coerce(value: Any, hint: Any, source: str, key: str) -> Any:
    """Check one value against its type hint (converting int to float and the like)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    where = f"{source}: {key}"
    if origin is Literal:
        choices = [str(a) for a in args]
        if str(value) not in choices:
            raise NmtError(f"{where}: '{value}' is not valid; choose one of: {', '.join(choices)}")
        return str(value)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, source, key)
            except NmtError as error:
                errors.append(str(error))
        raise NmtError(errors[-1] if len(errors) == 1 else f"{where}: {value!r} is not valid")
    if origin is dict:
        if not isinstance(value, dict):
            raise NmtError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): _coerce(v, args[1], source, f"{key}.{k}") for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise NmtError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], source, key) for v in value]
    return _coerce_scalar(value, hint, where)


def _coerce_scalar(value: Any, hint: type, where: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise NmtError(f"{where}: expected true or false, got {value!r}")
    if isinstance(value, str) and hint in (int, float):
        try:  # YAML 1.1 reads 1e-3 as a string
            value = hint(value)
        except ValueError:
            pass
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise NmtError(f"{where}: expected {hint.__name__}, got {value!r}")


def config_to_dict(config: Any) -> dict[str, Any]:
    """The config as plain data, its `task` first (what a reader of config.yaml looks for)."""
    data = asdict(config)
    return {"task": data.pop("task"), **data} if "task" in data else data


def save_config(config: Any, path: Path) -> None:
    write_text(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))
