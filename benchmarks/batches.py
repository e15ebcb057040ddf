"""Milliseconds to fetch and collate one training batch of a translation recipe.

With `num_workers` 0 (the recipes' default on 2 cores) the training loop waits for every batch
while the DataLoader reads it from the encoded corpus and collates it: pseudo-glossaries
(`data.term_dictionary`) and subword sampling add Python work there. Prints the mean time per
batch over `--batches` batches for each of `--rounds` rounds:

    python benchmarks/batches.py -c multi30k_en_de_glossary \
        data.path=../shared/data/multi30k data.term_dictionary=terms.tsv

To compare two versions of the code, run it once per version in alternation. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from nmt.translation.config import load as load_config
from nmt.translation.datamodule import TranslationDataModule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True, help="recipe name or YAML file")
    parser.add_argument("overrides", nargs="*", help="config overrides KEY=VALUE")
    parser.add_argument("--batches", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = load_config(args.config, args.overrides)
    with tempfile.TemporaryDirectory() as scratch:
        datamodule = TranslationDataModule(
            config.data, config.tokenizer, Path(scratch) / "tokenizer", seed=config.trainer.seed
        )
        datamodule.prepare_data()
        datamodule.setup("fit")
        loader = datamodule.train_dataloader()
        for round_number in range(1, args.rounds + 1):
            batches = iter(loader)
            next(batches)  # the first batch also starts the sampler
            started = time.perf_counter()
            fetched = sum(1 for _ in itertools.islice(batches, args.batches))
            milliseconds = (time.perf_counter() - started) / fetched * 1000
            print(f"round {round_number}: {milliseconds:.2f} ms per batch ({fetched} batches)")


if __name__ == "__main__":
    main()
