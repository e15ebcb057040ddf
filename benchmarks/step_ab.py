"""A/B of training-step speed that survives this machine's run-to-run noise (about ±10%).

Separate `nmt bench` runs of the same code differ by up to ±10% here, which hides most single
changes. This script builds the recipe's data once, takes the same fixed batches for every
variant, and times forward + backward + clipping + optimiser step for each variant in turn, for
several rounds, in one process: slow phases of the machine then hit every variant alike.
Variants are sets of config overrides, separated by `--vs`; `--set KEY=VALUE` applies to all:

    python benchmarks/step_ab.py -c multi30k_en_de_reference \
        --set data.path=../shared/data/multi30k model.attention=bahdanau --vs model.attention=luong
    python benchmarks/step_ab.py -c multi30k_en_de_reference \
        --set data.path=../shared/data/multi30k --vs trainer.precision=bf16-mixed

Every variant trains on the batches of the shared settings, so `data.*` overrides belong in
`--set`. To compare two versions of the code, run it once per version in alternation (or give
one variant and compare rounds). `trainer.precision=bf16-mixed` (or `auto`) runs the forward
pass under CPU autocast, as Lightning does. Prints target tokens/s per variant and round. Not
part of the test suite.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import torch

from nmt.data.special import PAD_ID
from nmt.engine.allocator import keep_freed_memory
from nmt.engine.optim import build_optimization
from nmt.engine.precision import lightning_precision
from nmt.translation.config import load as load_config
from nmt.translation.datamodule import TranslationDataModule
from nmt.translation.model import build_seq2seq
from nmt.translation.module import LitSeq2Seq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True, help="recipe name or YAML file")
    parser.add_argument("--batches", type=int, default=20, help="timed batches per round (20)")
    parser.add_argument("--warmup", type=int, default=4, help="untimed batches first (4)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all variants (3)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override for all"
    )
    args, rest = parser.parse_known_args()
    keep_freed_memory()  # as the nmt command does
    shared, variants = args.set, _split(rest)
    base = load_config(args.config, shared)
    with tempfile.TemporaryDirectory() as scratch:
        datamodule = TranslationDataModule(
            base.data, base.tokenizer, Path(scratch) / "tokenizer", seed=base.trainer.seed
        )
        datamodule.prepare_data()
        datamodule.setup("fit")
        batches = list(itertools.islice(datamodule.train_dataloader(), args.warmup + args.batches))
    timed = batches[args.warmup :]
    tokens = sum(int((batch.tgt_out != PAD_ID).sum()) for batch in timed)
    tokenizer = datamodule.tokenizer
    steps = []
    for overrides in variants:
        config = load_config(args.config, shared + overrides)
        torch.manual_seed(config.trainer.seed)
        model = build_seq2seq(config.model, tokenizer.src_vocab_size, tokenizer.tgt_vocab_size)
        module = LitSeq2Seq(lambda model=model: model, config.optim)
        module.configure_model()
        optimizer = build_optimization(model.parameters(), config.optim, "val/bleu")["optimizer"]
        autocast = lightning_precision(config.trainer.precision, "cpu") == "bf16-mixed"
        steps.append((" ".join(overrides) or "(recipe)", module, optimizer, config, autocast))
    rates: dict[str, list[float]] = {name: [] for name, *_ in steps}
    for round_number in range(1, args.rounds + 1):
        for name, module, optimizer, config, autocast in steps:
            clip = config.trainer.gradient_clip_val
            for batch in batches[: args.warmup]:
                _train_step(module, optimizer, batch, clip, autocast)
            started = time.perf_counter()
            for batch in timed:
                _train_step(module, optimizer, batch, clip, autocast)
            rates[name].append(tokens / (time.perf_counter() - started))
            print(f"round {round_number}  {name}: {rates[name][-1]:.0f} tgt tok/s", flush=True)
    print("\n| variant | target tokens/s per round | best |\n|---|---|---:|")
    for name, values in rates.items():
        print(f"| {name} | {', '.join(f'{v:.0f}' for v in values)} | {max(values):.0f} |")


def _train_step(module: LitSeq2Seq, optimizer, batch, clip: float | None, autocast: bool) -> None:
    """One update as Lightning runs it: bf16-mixed autocasts the forward pass (CPU here)."""
    module.train()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = module.token_loss(batch).loss
    optimizer.zero_grad()
    loss.backward()
    if clip:
        torch.nn.utils.clip_grad_norm_(module.parameters(), clip)
    optimizer.step()


def _split(arguments: list[str]) -> list[list[str]]:
    """One list of overrides per variant; variants are separated by `--vs`."""
    groups: list[list[str]] = [[]]
    for argument in arguments:
        if argument == "--vs":
            groups.append([])
        else:
            groups[-1].append(argument)
    return groups


if __name__ == "__main__":
    main()
