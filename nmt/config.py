"""Typed configuration: one dataclass per component, YAML recipes, dotted overrides.

Defaults live once, in these dataclasses. A recipe (`nmt/configs/NAME.yaml` or any YAML file)
lists only what differs, and `key.sub=value` overrides from the command line come last. Every key
and value is checked here, at the boundary, with errors that name the file and key and list the
valid choices; modules further in take plain typed arguments.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from nmt.errors import NmtError


@dataclass
class DataConfig:
    """Where the parallel corpus is and how it is cleaned and batched."""

    format: Literal["text", "tsv", "jsonl", "hub"] = "text"
    path: str = "data"  # directory of files, or a hub dataset name (format: hub)
    hub_config: str | None = None  # e.g. iwslt2017-de-en, de-en
    src_lang: str = "src"
    tgt_lang: str = "tgt"
    splits: dict[str, str] = field(
        default_factory=lambda: {"train": "train", "validation": "validation", "test": "test"}
    )  # split -> file stem (text: STEM.LANG, tsv: STEM.tsv, jsonl: STEM.jsonl)
    max_length: int | None = 100  # words per side in training pairs
    max_ratio: float | None = 3.0  # longer/shorter side, in words
    validation_size: int = 500  # held out of train when the corpus has no validation split
    batch_tokens: int = 4096  # per batch, padding included
    batch_sentences: int | None = None  # also at most this many sentences per training batch
    valid_batch_tokens: int = 8192
    num_workers: int = 0


@dataclass
class TokenizerConfig:
    """Sentencepiece models trained on the training split."""

    model_type: Literal["unigram", "bpe"] = "unigram"
    vocab_size: int = 8000
    joint: bool = True  # one model and vocabulary for both languages
    character_coverage: float = 1.0


@dataclass
class DecoderMemoryConfig:
    """A key-value memory of learned slots that the decoder queries each step (0 slots: none)."""

    slots: int = 0
    combine: Literal["gate", "concat"] = "gate"  # how the read joins the attention context
    addressing: Literal["dot", "additive"] = "dot"
    top_k: int | None = None  # read only the k best-matching slots


@dataclass
class ModelConfig:
    """Encoder-decoder architecture."""

    cell: Literal["rnn", "gru", "lstm"] = "lstm"
    embedding_size: int = 256
    encoder_hidden_size: int = 256  # per direction
    encoder_layers: int = 1
    bidirectional: bool = True
    decoder_hidden_size: int = 512
    decoder_layers: int = 1
    attention: Literal["bahdanau", "luong", "dot", "none"] = "bahdanau"
    attention_size: int | None = None  # additive attention's hidden size; default decoder size
    input_feeding: bool = True
    output_size: int | None = None  # size of the layer before the softmax; default decoder size
    tie_embeddings: bool = False  # target embeddings = output layer (output_size = embedding)
    dropout: float = 0.3
    param_init: float | None = None  # every weight uniform in [-x, x]; None: PyTorch's defaults
    memory: DecoderMemoryConfig = field(default_factory=DecoderMemoryConfig)


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
    plateau_factor: float = 0.5  # plateau: lr *= factor when validation BLEU stalls
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
    # auto: bf16-mixed where the device multiplies bfloat16 natively, else 32 (nmt/precision.py)
    precision: Literal["32-true", "32", "bf16-mixed", "16-mixed", "auto"] = "32-true"
    gradient_clip_val: float | None = 5.0
    val_check_interval: int | float = 1.0  # fraction of an epoch, or a number of batches
    log_every_n_steps: int = 50
    early_stopping_patience: int | None = None  # validations without BLEU gain before stopping
    keep_last_checkpoints: int = 5  # RUN/lightning/step-*.ckpt of the latest validations; 0: none
    bleu_max_length_a: float = 1.5  # greedy validation output: at most a * source length + b
    bleu_max_length_b: int = 10
    seed: int = 1234
    deterministic: bool = False
    progress_bar: bool = True


@dataclass
class Config:
    """A whole training run."""

    task: Literal["translation"] = "translation"
    name: str = "run"
    output_dir: str = "checkpoints"
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


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


TASK_COMMANDS = {
    "translation": "nmt train",
    "tagging": "nmt tag train",
    "memory": "nmt memory train",
}


def load_config(
    name_or_path: str | None, overrides: typing.Sequence[str] = (), kind: type = Config
) -> Any:
    """Read a recipe (or start from defaults), apply `a.b=value` overrides and validate.

    `kind` is the config class of the task (`Config` for translation, `TaggingConfig`); a recipe
    written for another task is refused with the command that runs it.
    """
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
    task = raw.get("task", "translation")
    if task != expected and task in TASK_COMMANDS:
        raise NmtError(
            f"{source}: this is a {task} recipe; run it with `{TASK_COMMANDS[task]} -c ...`"
        )
    return build_dataclass(kind, raw, source)


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


def build_dataclass(cls: type, raw: Any, source: str, prefix: str = "") -> Any:
    """Check `raw` against dataclass `cls` and construct it; errors say `source: section.key`."""
    if not isinstance(raw, dict):
        raise NmtError(f"{source}: {prefix or 'config'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [key for key in raw if key not in names]
    if unknown:
        raise NmtError(
            f"{source}: unknown key '{prefix}{unknown[0]}'; valid keys"
            f"{' in ' + prefix.rstrip('.') if prefix else ''}: {', '.join(names)}"
        )
    values = {
        key: _coerce(value, hints[key], source, f"{prefix}{key}") for key, value in raw.items()
    }
    for spec in dataclasses.fields(cls):  # a mapping given in part keeps its other default keys
        if spec.name in values and isinstance(values[spec.name], dict):
            if spec.default_factory is not dataclasses.MISSING:
                values[spec.name] = {**spec.default_factory(), **values[spec.name]}
    return cls(**values)


def _coerce(value: Any, hint: Any, source: str, key: str) -> Any:
    """Check one value against its type hint (converting int to float and the like)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    where = f"{source}: {key}"
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, source, f"{key}.")
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
    return asdict(config)


def save_config(config: Any, path: Path) -> None:
    path.write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False), encoding="utf-8")
