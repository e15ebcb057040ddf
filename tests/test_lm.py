"""Language models end to end: train on a repeating text through `nmt lm`, sample it back and
score it as a user would; sampling's choices on a model whose probabilities the test writes;
stream batching; bad input."""

import json
import math
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from nmt.cli import main
from nmt.lm.batch import parallel_streams, stream_ids
from nmt.lm.evaluate import score_lines, score_stream
from nmt.lm.predict import Sampler
from nmt.lm.synthetic import PATTERN, write_pattern_text
from nmt.search import SamplingOptions, sample, sampling_distribution

SMALL = [
    "model.embedding_size=16", "model.hidden_size=64", "model.layers=1", "model.dropout=0.0",
    "data.bptt=32", "data.batch_size=8", "data.valid_batch_size=4", "optim.lr=0.01",
    "optim.schedule=constant", "trainer.max_minutes=null", "trainer.progress_bar=false",
    "trainer.val_check_interval=1.0",
]  # fmt: skip


@pytest.fixture(scope="module")
def pattern_text(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pattern")
    write_pattern_text(folder, {"train": 200, "valid": 10})
    return folder


@pytest.fixture(scope="module")
def char_run(pattern_text, tmp_path_factory) -> Path:
    """A character LSTM trained on the pattern text (~10 s)."""
    out = tmp_path_factory.mktemp("lms")
    assert main(["lm", "train", "-c", "tiny_shakespeare_char", f"data.path={pattern_text}",
                 f"output_dir={out}", "name=chars", "data.splits.train=train.txt",
                 "data.splits.validation=valid.txt", "trainer.max_epochs=8", *SMALL]) == 0
    return out / "chars"


def test_a_learnt_pattern_comes_back_exactly_at_temperature_zero(char_run, capsys):
    text = "".join(f"{line}\n" for line in PATTERN * 2)
    prompt = "the cat"
    code = main(["lm", "sample", "-m", str(char_run), "--prompt", prompt, "--temperature", "0",
                 "--max-tokens", str(len(text) - len(prompt))])  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out == text + "\n"
    metadata = json.loads((char_run / "metadata.json").read_text())
    assert metadata["best"]["val_loss"] < 0.1 and metadata["units"] == "chars"


def test_int8_weights_sample_the_pattern_and_score_it_as_the_float_model(
    char_run, tmp_path, capsys
):
    text = "".join(f"{line}\n" for line in PATTERN)
    assert main(["lm", "sample", "-m", str(char_run), "--prompt", "the", "--temperature", "0",
                 "--max-tokens", str(len(text) - 3), "--quantize"]) == 0  # fmt: skip
    assert capsys.readouterr().out == text + "\n"
    lines = tmp_path / "lines.txt"
    lines.write_text(text * 4)
    totals = []
    for quantize in ([], ["--quantize"]):
        assert main(["lm", "score", "-m", str(char_run), "-i", str(lines), "--stream",
                     *quantize]) == 0  # fmt: skip
        totals.append(float(re.search(r"([\d.]+) nats/character", capsys.readouterr().out)[1]))
    assert totals[0] < 0.5 and totals[1] == pytest.approx(totals[0], abs=0.02)


def test_scores_tell_the_pattern_from_noise_and_the_stream_score_is_validations(
    char_run, pattern_text
):
    scores = score_lines(char_run, [PATTERN[0], "xq zv kk ww ee pp tt ."])
    known, noise = scores["lines"]
    assert known["tokens"] == len(PATTERN[0]) + 1  # the characters and the newline after them
    assert known["nats_per_token"] < 0.5 < 2 < noise["nats_per_token"]
    assert scores["total"]["tokens"] == known["tokens"] + noise["tokens"]
    # The whole validation text read as one stream, with the state carried: validation's loss.
    validation = (pattern_text / "valid.txt").read_text().splitlines()
    stream = score_stream(char_run, validation, streams=4, bptt=32)["total"]
    assert stream["tokens"] == sum(len(line) + 1 for line in validation) - 1
    best = json.loads((char_run / "metadata.json").read_text())["best"]
    assert stream["nats_per_token"] == pytest.approx(best["val_loss"], abs=1e-4)
    assert stream["bits_per_token"] == pytest.approx(stream["nats_per_token"] / math.log(2))


def test_score_command_prints_a_row_per_line_and_the_total(char_run, tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text(f"{PATTERN[1]}\n\n{PATTERN[2]}\n")
    assert main(["lm", "score", "-m", str(char_run), "-i", str(text)]) == 0
    captured = capsys.readouterr()
    rows = [row.split("\t") for row in captured.out.splitlines()]
    assert rows[0][:3] == ["line", "tokens", "nats_per_token"] and len(rows) == 4
    assert [row[1] for row in rows[1:]] == [str(len(PATTERN[1]) + 1), "1", str(len(PATTERN[2]) + 1)]
    assert "characters:" in captured.err and "bits/character" in captured.err


def test_samples_repeat_with_a_seed_and_differ_without(char_run):
    sampler = Sampler.load(char_run)
    options = SamplingOptions(temperature=1.5, max_tokens=40)
    first = sampler.complete("", options, count=3, seed=7)
    assert sampler.complete("", options, count=3, seed=7) == first
    assert len(set(first)) > 1 and all(len(text) == 40 for text in first)


def test_a_sentence_model_over_pieces_writes_one_line(pattern_text, tmp_path):
    assert main(["lm", "train", "-c", "tiny_shakespeare_char", f"data.path={pattern_text}",
                 f"output_dir={tmp_path}", "name=pieces", "data.units=pieces",
                 "data.vocab_size=40", "data.mode=sentences", "data.batch_tokens=200",
                 "data.splits.train=train.txt", "data.splits.validation=valid.txt",
                 "trainer.max_epochs=6", *SMALL, "model.weight_dropout=0.2"]) == 0  # fmt: skip
    sampler = Sampler.load(tmp_path / "pieces")
    assert sampler.model.weight_dropout.p == 0.2  # trained with recurrent weights dropped
    (line,) = sampler.complete("a dog", SamplingOptions(temperature=0, max_tokens=50))
    assert "a dog" + line == PATTERN[1]


def test_a_conv_model_learns_the_pattern_and_reads_it_in_chunks_as_at_once(
    pattern_text, tmp_path, capsys
):
    """model.cell=conv: a gated dilated causal convolution (receptive field 1 + 2 * 31 = 63
    characters, more than a line) in place of the LSTM."""
    assert main(["lm", "train", "-c", "tiny_shakespeare_char", f"data.path={pattern_text}",
                 f"output_dir={tmp_path}", "name=conv", "data.splits.train=train.txt",
                 "data.splits.validation=valid.txt", "trainer.max_epochs=4", *SMALL,
                 "model.cell=conv", "model.conv_levels=5", "model.kernel_size=3"]) == 0  # fmt: skip
    assert "receptive field 63 tokens" in capsys.readouterr().err
    text = "".join(f"{line}\n" for line in PATTERN * 2)
    assert main(["lm", "sample", "-m", str(tmp_path / "conv"), "--prompt", "we", "--temperature",
                 "0", "--max-tokens", str(len(text) - 2)]) == 0  # fmt: skip
    assert capsys.readouterr().out == "we sing songs at night .\n" + text[: len(text) - 25] + "\n"
    # The state is the window the convolution still sees: chunks (and single steps) read with it
    # give exactly the log-probabilities of the whole text read at once.
    model = Sampler.load(tmp_path / "conv").model.double()
    tokens = torch.randint(1, 20, (3, 150), generator=torch.Generator().manual_seed(0))
    whole, _ = model(tokens, model.initial_state(3))
    state, pieces = model.initial_state(3), []
    for start, end in ((0, 10), (10, 11), (11, 90), (90, 150)):
        logits, state = model(tokens[:, start:end], state)
        pieces.append(logits)
        assert state.hidden.size(1) == min(end, 62)
    torch.testing.assert_close(torch.cat(pieces, dim=1), whole, rtol=0, atol=1e-12)
    step = model.decode_step(tokens[:, 90], model.initial_state(3)._replace(
        hidden=model.embedding(tokens[:, 28:90])))  # fmt: skip
    expected = whole[:, 90].log_softmax(-1).float()  # decode_step gives float32
    torch.testing.assert_close(step.log_probs, expected)


def test_recurrent_weight_dropout_with_a_conv_is_refused(pattern_text, tmp_path, capsys):
    assert main(["lm", "train", "-c", "tiny_shakespeare_char", f"data.path={pattern_text}",
                 f"output_dir={tmp_path}", "model.cell=conv", "model.weight_dropout=0.3"]) == 2
    assert "model.weight_dropout 0.3 drops recurrent weights" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


class ChainStep(NamedTuple):
    log_probs: torch.Tensor
    state: tuple
    attention: None = None


class Chain:
    """A 'model' whose next-token probabilities the test writes: from token t, t+1 with 0.6,
    t+2 with 0.3, t+3 with 0.1 (over 8 tokens, wrapping around)."""

    def decode_step(self, prev_tokens: torch.Tensor, state: tuple) -> ChainStep:
        probs = torch.zeros(len(prev_tokens), 8)
        for row, token in enumerate(prev_tokens.tolist()):
            for offset, p in ((1, 0.6), (2, 0.3), (3, 0.1)):
                probs[row, (token + offset) % 8] = p
        return ChainStep(probs.log(), state)


def test_temperature_zero_follows_the_most_likely_chain():
    tokens = list(sample(Chain(), (), torch.tensor([0]), SamplingOptions(temperature=0,
                                                                          max_tokens=5)))
    assert [int(t) for t in tokens] == [1, 2, 3, 4, 5]


def test_top_k_and_top_p_keep_only_the_likely_tokens():
    log_probs = Chain().decode_step(torch.tensor([0]), ()).log_probs
    top2 = sampling_distribution(log_probs, SamplingOptions(top_k=2))[0]
    assert top2.nonzero().flatten().tolist() == [1, 2]
    assert top2[1] == pytest.approx(0.6 / 0.9)
    nucleus = sampling_distribution(log_probs, SamplingOptions(top_p=0.8))[0]
    assert nucleus.nonzero().flatten().tolist() == [1, 2]  # 0.6 < 0.8 <= 0.6 + 0.3
    assert sampling_distribution(log_probs, SamplingOptions(top_p=0.5))[0][1] == 1.0
    hot = sampling_distribution(log_probs, SamplingOptions(temperature=2.0))[0]
    assert hot[3] > 0.1 and hot[1] < 0.6  # a higher temperature flattens the distribution
    generator = torch.Generator().manual_seed(0)
    drawn = [int(next(sample(Chain(), (), torch.tensor([0]), SamplingOptions(top_k=2),
                             generator))) for _ in range(200)]  # fmt: skip
    assert set(drawn) == {1, 2} and 0.5 < drawn.count(1) / 200 < 0.75


def test_parallel_streams_predict_every_token_but_the_first_once():
    ids = stream_ids([[4, 5, 6], [], [7, 8, 9, 10]], separator=3)
    assert ids.tolist() == [4, 5, 6, 3, 3, 7, 8, 9, 10, 3]
    inputs, targets = parallel_streams(ids, 3)
    assert sorted(targets[targets != 0].tolist()) == sorted(ids[1:].tolist())
    for row_inputs, row_targets in zip(inputs.tolist(), targets.tolist()):
        pairs = [(a, b) for a, b in zip(row_inputs, row_targets) if b]
        assert all((a, b) in zip(ids[:-1].tolist(), ids[1:].tolist()) for a, b in pairs)
    assert np.array_equal(stream_ids([], 3), np.empty(0, dtype=np.int64))
