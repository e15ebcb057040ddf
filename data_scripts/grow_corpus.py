"""Make a parallel corpus of any size from a small one, for measuring how preparation and
training grow with corpus size (benchmarks/growth.py): each new pair is one random pair of the
original training split, or two joined (source with source, target with target), so the text
is real and the vocabulary stays that of the original. The quality of the pairs is not the point.

    python data_scripts/grow_corpus.py --data ../shared/data/multi30k --src en --tgt de \\
        --pairs 3000000 --out /tmp/growth/3000000

Writes OUT/train.SRC and OUT/train.TGT with --pairs lines, and copies the validation and test
files (--keep, by default val and test2016) unchanged, so that scores stay comparable.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np


def grow(
    src_lines: list[str], tgt_lines: list[str], pairs: int, seed: int = 0, chunk: int = 100_000
):
    """Yield (source block, target block) of up to `chunk` new pairs each, as text with a newline
    after every line."""
    rng = np.random.default_rng(seed)
    src = np.array(src_lines, dtype=object)
    tgt = np.array(tgt_lines, dtype=object)
    for start in range(0, pairs, chunk):
        size = min(chunk, pairs - start)
        first = rng.integers(len(src), size=size)
        second = rng.integers(len(src), size=size)
        joined = rng.random(size) < 0.5
        src_block = np.where(joined, src[first] + " " + src[second], src[first])
        tgt_block = np.where(joined, tgt[first] + " " + tgt[second], tgt[first])
        yield "\n".join(src_block) + "\n", "\n".join(tgt_block) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with train.SRC and train.TGT")
    parser.add_argument("--src", default="en")
    parser.add_argument("--tgt", default="de")
    parser.add_argument("--pairs", type=int, required=True, help="training pairs to make")
    parser.add_argument("--out", required=True)
    parser.add_argument("--keep", nargs="*", default=["val", "test2016"],
                        help="splits copied unchanged (file stems)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    src_lines = (data / f"train.{args.src}").read_text(encoding="utf-8").splitlines()
    tgt_lines = (data / f"train.{args.tgt}").read_text(encoding="utf-8").splitlines()
    if len(src_lines) != len(tgt_lines):
        raise SystemExit(f"{data}: train.{args.src} and train.{args.tgt} differ in line count")
    with (out / f"train.{args.src}").open("w", encoding="utf-8") as src_file, \
            (out / f"train.{args.tgt}").open("w", encoding="utf-8") as tgt_file:  # fmt: skip
        for src_block, tgt_block in grow(src_lines, tgt_lines, args.pairs, args.seed):
            src_file.write(src_block)
            tgt_file.write(tgt_block)
    for stem in args.keep:
        for lang in (args.src, args.tgt):
            shutil.copyfile(data / f"{stem}.{lang}", out / f"{stem}.{lang}")
    print(f"{args.pairs} pairs in {out}")


if __name__ == "__main__":
    main()
