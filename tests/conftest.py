"""Shared fixtures: small generated parallel corpora written as plain-text files."""

import logging
import random
import shutil
from pathlib import Path

import pytest
import yaml

from nmt.translation.config import TranslationConfig, load

SYMBOL_WORDS = {
    "a": "alpha", "b": "bravo", "c": "charlie", "d": "delta", "e": "echo", "f": "foxtrot",
}  # fmt: skip


def write_pairs(folder: Path, split: str, pairs, src_lang: str = "src", tgt_lang: str = "tgt"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}.{src_lang}").write_text("".join(f"{s}\n" for s, _ in pairs), "utf-8")
    (folder / f"{split}.{tgt_lang}").write_text("".join(f"{t}\n" for _, t in pairs), "utf-8")


def spelling_pairs(count: int, seed: int, min_len: int = 2, max_len: int = 4):
    """Symbols -> their spelling-alphabet words, in order ("b a" -> "bravo alpha")."""
    rng = random.Random(seed)
    pairs = set()
    while len(pairs) < count:
        symbols = [rng.choice(sorted(SYMBOL_WORDS)) for _ in range(rng.randint(min_len, max_len))]
        pairs.add((" ".join(symbols), " ".join(SYMBOL_WORDS[s] for s in symbols)))
    return sorted(pairs)


def tiny_config(data_dir: Path, output_dir: Path, *overrides: str) -> TranslationConfig:
    """A small, fast model on a task folder; overrides as on the command line."""
    return load(
        None,
        [
            f"data.path={data_dir}", f"output_dir={output_dir}", "name=run",
            "data.batch_tokens=400", "data.max_ratio=null", "tokenizer.vocab_size=60",
            "tokenizer.model_type=bpe", "model.embedding_size=32", "model.encoder_hidden_size=32",
            "model.decoder_hidden_size=64", "model.dropout=0.0", "optim.lr=0.005",
            "optim.schedule=constant", "optim.label_smoothing=0.0", "trainer.progress_bar=false",
            "trainer.log_every_n_steps=10", *overrides,
        ],
    )  # fmt: skip


@pytest.fixture(scope="session")
def reverse_task(tmp_path_factory) -> Path:
    """The package's reversal task: "c a j" -> "j a c"."""
    from nmt.translation.synthetic import write_task_splits

    folder = tmp_path_factory.mktemp("reverse")
    return write_task_splits(
        "reverse", folder, {"train": 3000, "validation": 100, "test": 100}, seed=1
    )


@pytest.fixture(scope="session")
def spelling_task(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("spelling")
    pairs = spelling_pairs(1100, seed=3)
    random.Random(0).shuffle(pairs)
    write_pairs(folder, "train", pairs[:1000])
    write_pairs(folder, "validation", pairs[1000:1050])
    write_pairs(folder, "test", pairs[1050:])
    return folder


@pytest.fixture(scope="session")
def reversal_run(reverse_task, tmp_path_factory) -> Path:
    """A small attention model trained to reverse symbol sequences (about 15 s)."""
    from nmt.translation.run import train

    config = tiny_config(
        reverse_task, tmp_path_factory.mktemp("runs"), "model.attention=luong",
        "model.input_feeding=false", "trainer.max_epochs=15",
    )  # fmt: skip
    return train(config)


def as_saved_before_task_packages(run_dir: Path, copy: Path) -> Path:
    """A copy of a run directory whose config.yaml says what the code before the task packages
    wrote (issue 16): `model.memory` for the slot memory, `task: memory` for readers, the
    translator's validation settings in every trainer section, no `model.custom_kernels`."""
    shutil.copytree(run_dir, copy)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    model = config["model"]
    if "slot_memory" in model:
        model["memory"] = model.pop("slot_memory")
    model.pop("custom_kernels", None)
    if config["task"] == "memnet":
        config["task"] = "memory"
    config["trainer"].setdefault("bleu_max_length_a", 1.5)
    config["trainer"].setdefault("bleu_max_length_b", 10)
    (copy / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return copy


@pytest.fixture
def nmt_log(caplog):
    """caplog that also sees the `nmt` logger, which the command line stops from propagating."""
    logger = logging.getLogger("nmt")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="nmt")
    yield caplog
    logger.removeHandler(caplog.handler)
