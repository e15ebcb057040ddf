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
from typing import Annotated, Any, ClassVar, Literal, Union

import yaml

from nmt.engine.rundir import write_text
from nmt.errors import NmtError


@dataclass(frozen=True)
class Range:
    """The values a number may take, checked where the config is read: `low` <= x (< with
    `open_low`), x <= `high` (< with `open_high`), or one of `also` (e.g. -1 for "no limit").
    Written into a field's type: `dropout: Annotated[float, Range(0, 1, open_high=True)]`."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    also: tuple[float, ...] = ()
    meaning: str = ""  # what the `also` values mean, for the message

    def admits(self, value: float) -> bool:
        if value in self.also:
            return True
        above = self.low is None or (value > self.low if self.open_low else value >= self.low)
        below = self.high is None or (value < self.high if self.open_high else value <= self.high)
        return above and below

    def __str__(self) -> str:
        if self.high is None:
            text = f"{'more than' if self.open_low else 'at least'} {self.low:g}"
        elif self.low is None:
            text = f"{'less than' if self.open_high else 'at most'} {self.high:g}"
        else:
            text = (f"a number in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.open_high else ']'}")  # fmt: skip
        if self.also:
            values = " or ".join(f"{value:g}" for value in self.also)
            text += f", or {values}" + (f" ({self.meaning})" if self.meaning else "")
        return text


AT_LEAST_1 = Range(1)
NON_NEGATIVE = Range(0)
POSITIVE = Range(0, open_low=True)
PROBABILITY = Range(0, 1, open_high=True)  # dropout and the like: 1 would drop everything
FRACTION = Range(0, 1, open_low=True)  # a share of something, above 0 and at most all of it
Count = Annotated[int, AT_LEAST_1]  # sizes, layers, batches
NonNegative = Annotated[int, NON_NEGATIVE]


@dataclass
class OptimConfig:
    """Optimiser, learning-rate schedule and loss."""

    optimizer: Literal["adam", "adamw"] = "adam"
    lr: Annotated[float, NON_NEGATIVE] = 1e-3
    weight_decay: Annotated[float, NON_NEGATIVE] = 0.0
    betas: list[Annotated[float, Range(0, 1, open_high=True)]] = field(
        default_factory=lambda: [0.9, 0.999]
    )
    label_smoothing: Annotated[float, PROBABILITY] = 0.1
    # budget: the base rate, then a linear decay to min_lr over the last decay_fraction of
    # trainer.max_minutes (a wall-clock budget has no step count known in advance)
    schedule: Literal["constant", "plateau", "step", "inverse_sqrt", "budget"] = "plateau"
    warmup_steps: NonNegative = 1000  # inverse_sqrt: linear warm-up, then lr * sqrt(warmup/step)
    # plateau: lr *= factor when the validation score stalls; step: every step_epochs epochs
    plateau_factor: Annotated[float, Range(0, 1, open_low=True, open_high=True)] = 0.5
    plateau_patience: NonNegative = 2  # validations without improvement before the lr drops
    step_epochs: Count = 25
    min_lr: Annotated[float, NON_NEGATIVE] = 1e-5
    decay_fraction: Annotated[float, FRACTION] = 0.3  # budget: share of the budget spent decaying


@dataclass
class TrainerConfig:
    """Passed through to the Lightning Trainer, plus run-level settings."""

    max_epochs: Annotated[int, Range(1, also=(-1,), meaning="no limit")] = 20
    max_steps: Annotated[int, Range(1, also=(-1,), meaning="no limit")] = -1
    max_minutes: Annotated[float, POSITIVE] | None = None  # wall-clock budget
    accelerator: str = "auto"
    devices: int | str = "auto"  # per node
    num_nodes: Count = 1  # machines of a job launched by torchrun or SLURM (README)
    strategy: str = "auto"
    # auto: bf16-mixed where the device multiplies bfloat16 natively, else 32 (engine/precision.py)
    precision: Literal["32-true", "32", "bf16-mixed", "16-mixed", "auto"] = "32-true"
    gradient_clip_val: Annotated[float, POSITIVE] | None = 5.0
    # a number of batches, or a fraction of an epoch
    val_check_interval: Count | Annotated[float, FRACTION] = 1.0
    log_every_n_steps: Count = 50
    early_stopping_patience: NonNegative | None = None  # validations without a better score
    keep_last_checkpoints: NonNegative = 0  # RUN/lightning/step-*.ckpt of the latest validations
    seed: Annotated[int, Range(0, 2**32 - 1)] = 1234
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
    # What a resumed run cannot change (the checkpoint holds a model of these settings): keys
    # starting with these, except the `changeable_on_resume` ones.
    fixed_on_resume: ClassVar[tuple[str, ...]] = ("model.",)
    changeable_on_resume: ClassVar[tuple[str, ...]] = ()

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
    source = "defaults"  # where values that no override set came from
    if name_or_path is not None:
        path = resolve_recipe(name_or_path)
        source = str(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise NmtError(f"{path}{_yaml_problem(error)}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise NmtError(f"{path}: cannot read ({error})") from None
        if not isinstance(raw, dict):
            raise NmtError(
                f"{path}: a config must be a mapping of sections, got {type(raw).__name__}"
            )
    for override in overrides:
        apply_override(raw, override)
    origin = Origin(source, frozenset(override.partition("=")[0] for override in overrides))
    expected = next(f.default for f in dataclasses.fields(kind) if f.name == "task")
    task = raw.get("task", expected)
    if task in kind.former_task_names:
        raw["task"] = task = expected
    if task != expected and isinstance(task, str):
        raise WrongTask(f"{origin.of('task')}: this is a {task} recipe, not a {expected} one", task)
    for key in kind.retired_keys:
        _pop_key(raw, key)
    for old, new in kind.renamed_keys.items():
        _rename_key(raw, old, new)
    return build_dataclass(kind, raw, origin)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """":LINE:COLUMN: not valid YAML (problem)", on one line, as far as PyYAML knows them."""
    mark = getattr(error, "problem_mark", None)
    place = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None)
    return f"{place}: not valid YAML" + (f" ({problem})" if problem else "")


@dataclass(frozen=True)
class Origin:
    """Where a config's values came from, for messages: a recipe file (or the defaults), except
    the keys set on the command line."""

    recipe: str
    overridden: frozenset[str] = frozenset()

    def of(self, key: str) -> str:
        """'command line' when an override set `key` (or a section holding it), else the recipe."""
        parts = key.split(".")
        prefixes = {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
        return "command line" if prefixes & self.overridden else self.recipe


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
    cls: type, raw: Any, origin: Origin, prefix: str = "", defaults: Any = None
) -> Any:
    """Check `raw` against dataclass `cls` and construct it; errors say `origin: section.key`.

    Keys that `raw` leaves out take their values from `defaults` (an instance of `cls`: the
    default of the field that holds this section, e.g. a task's own trainer defaults), else
    from the class; a mapping given in part keeps its other default keys."""
    if not isinstance(raw, dict):
        where = origin.of(prefix.rstrip(".")) if prefix else origin.recipe
        raise NmtError(f"{where}: {prefix or 'config'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls, include_extras=True)
    specs = {spec.name: spec for spec in dataclasses.fields(cls)}
    unknown = [key for key in raw if key not in specs]
    if unknown:
        raise NmtError(
            f"{origin.of(prefix + unknown[0])}: unknown key '{prefix}{unknown[0]}'; valid keys"
            f"{' in ' + prefix.rstrip('.') if prefix else ''}: {', '.join(specs)}"
        )
    values = {}
    for key, value in raw.items():
        default = _field_default(specs[key], defaults)
        where = f"{prefix}{key}"
        if isinstance(hints[key], type) and dataclasses.is_dataclass(hints[key]):
            values[key] = build_dataclass(hints[key], value, origin, f"{where}.", default)
            continue
        values[key] = _coerce(value, hints[key], origin, where)
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


def _coerce(value: Any, hint: Any, origin: Origin, key: str) -> Any:
    """Check one value against its type hint (converting int to float and the like)."""
    kind = typing.get_origin(hint)
    args = typing.get_args(hint)
    where = f"{origin.of(key)}: {key}"
    if kind is Annotated:
        value = _coerce(value, args[0], origin, key)
        for allowed in (a for a in hint.__metadata__ if isinstance(a, Range)):
            if not allowed.admits(value):
                raise NmtError(f"{where}: {value!r} is out of range; give {allowed}")
        return value
    if kind is Literal:
        choices = [str(a) for a in args]
        if str(value) not in choices:
            raise NmtError(f"{where}: '{value}' is not valid; choose one of: {', '.join(choices)}")
        return str(value)
    if kind in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, origin, key)
            except NmtError as error:
                errors.append(str(error))
        if len(errors) == 1:
            raise NmtError(errors[0])
        wanted = [error.partition("; give ")[2] for error in errors]
        if all(wanted):
            raise NmtError(f"{where}: {value!r} is out of range; give {' or '.join(wanted)}")
        raise NmtError(f"{where}: {value!r} is not valid")
    if kind is dict:
        if not isinstance(value, dict):
            raise NmtError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): _coerce(v, args[1], origin, f"{key}.{k}") for k, v in value.items()}
    if kind is list:
        if not isinstance(value, list):
            raise NmtError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], origin, key) for v in value]
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
