"""Typed configuration of a memory-network run; optimiser and trainer settings are shared."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nmt.config import OptimConfig, TrainerConfig


@dataclass
class StoryDataConfig:
    """Story / question files, or the generated task when no path is given."""

    path: str | None = None  # folder of JSONL files; null: generate the task into RUN/data
    splits: dict[str, str] = field(
        default_factory=lambda: {
            "train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"
        }
    )  # fmt: skip
    generate_sizes: dict[str, int] = field(
        default_factory=lambda: {"train": 10000, "validation": 1000, "test": 1000}
    )
    generate_seed: int = 0
    max_sentences: int = 50  # the memory holds a story's last N sentences
    batch_size: int = 32


@dataclass
class MemNetModelConfig:
    embedding_size: int = 64
    hops: int = 3
    addressing: Literal["dot", "additive"] = "dot"
    top_k: int | None = None


@dataclass
class MemoryTaskConfig:
    task: Literal["memory"] = "memory"
    name: str = "stories"
    output_dir: str = "checkpoints"
    data: StoryDataConfig = field(default_factory=StoryDataConfig)
    model: MemNetModelConfig = field(default_factory=MemNetModelConfig)
    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(lr=0.005, label_smoothing=0.0, plateau_patience=2)
    )
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            max_epochs=60, early_stopping_patience=8, gradient_clip_val=40.0,
            keep_last_checkpoints=0,
        )
    )  # fmt: skip

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name
