"""A/B of beam-search speed: the decoder's single step through PyTorch's oneDNN path (plain
`nn.LSTM` call) against `nmt.models.fast.ops.rnn_step` (oneDNN off for one step), on the same
trained model, sentences and options, alternating in one process for several rounds. Prints
sentences/s per variant and round and checks that both give the same translations.

    python benchmarks/search_step_ab.py -m checkpoints/multi30k_en_de_cpu \\
        -i ../shared/data/multi30k/test2016.en --batch-size 64
    python benchmarks/search_step_ab.py -m RUN -i test.en --batch-size 1 --sentences 150

Not part of the test suite; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import time

from nmt.data.textfile import read_lines
from nmt.models.fast import ops, plain_rnn_step
from nmt.search import SearchOptions
from nmt.translation.predict import Translator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", required=True, help="translation run directory")
    parser.add_argument("-i", "--input", required=True, help="source sentences, one a line")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=0, help="the first N lines (0: all)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    lines = read_lines(args.input)
    lines = lines[: args.sentences] if args.sentences else lines
    translator = Translator.load(args.model)
    options = SearchOptions(beam_size=args.beam_size, keep_attention=False)
    variants = {"oneDNN step (plain)": plain_rnn_step, "ops.rnn_step": ops.rnn_step}
    outputs = {}
    for round_number in range(args.rounds):
        for name, step in variants.items():
            translator.model.decoder.rnn_step = step
            started = time.perf_counter()
            outputs[name] = translator.translate(lines, options, args.batch_size)
            seconds = time.perf_counter() - started
            print(f"round {round_number + 1}, {name}: {len(lines) / seconds:.1f} sentences/s "
                  f"({seconds:.1f} s)", flush=True)  # fmt: skip
    first, second = outputs.values()
    print("same translations:", first == second)


if __name__ == "__main__":
    main()
