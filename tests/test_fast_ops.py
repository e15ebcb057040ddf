"""The CPU replacements for torch.tanh, nn.Dropout, one RNN step, a product with a reused weight
and the encoder's LSTM over packed sequences compute what torch's own ones compute, and the
glossary memory's training scores what its mixture over the vocabulary gives."""

import dataclasses

import pytest
import torch

from nmt.data.special import PAD_ID
from nmt.models.fast.copy_scores import copy_scores
from nmt.models.fast.ops import Dropout, rnn_step, tanh
from nmt.models.fast.packed import PackedWeight, onednn_applies
from nmt.models.fast.packed_lstm import packed_lstm, packed_lstm_applies
from nmt.models.fast.row_blocks import ROW_BLOCK, in_row_blocks, pad_rows, plain_rows
from nmt.models.glossary import CopyWeights, mixture_scores
from nmt.models.recurrent import build_rnn, run_packed
from nmt.translation.config import ModelConfig
from nmt.translation.model import build_seq2seq


def test_tanh_values_and_gradient_match_torch():
    inputs = torch.linspace(-12, 12, 100_001, dtype=torch.float32).requires_grad_()
    outputs = tanh(inputs)
    torch.testing.assert_close(outputs, torch.tanh(inputs), atol=2e-7, rtol=0)
    assert outputs[0] == -1 and outputs[-1] == 1
    grad_out = torch.randn(inputs.shape)
    (ours,) = torch.autograd.grad(outputs, inputs, grad_out)
    (theirs,) = torch.autograd.grad(torch.tanh(inputs), inputs, grad_out)
    torch.testing.assert_close(ours, theirs, atol=5e-6, rtol=0)  # |grad_out| up to ~5


def test_dropout_drops_the_asked_share_scales_the_rest_and_repeats_under_a_seed():
    dropout = Dropout(0.3).train()
    inputs = torch.full((1000, 1000), 2.0, requires_grad=True)
    torch.manual_seed(7)
    outputs = dropout(inputs)
    dropped = outputs == 0
    assert abs(dropped.float().mean().item() - 0.3) < 0.002  # 1M draws: 5 standard deviations
    torch.testing.assert_close(outputs[~dropped], torch.full_like(outputs[~dropped], 2 / 0.7))
    # Neighbouring elements come from slices of the same 64-bit draw: no pattern between them.
    rows = dropped.view(-1, 4).float()
    assert abs(rows[:, 0].mul(rows[:, 1]).mean().item() - 0.09) < 0.003
    outputs.sum().backward()
    torch.testing.assert_close(inputs.grad, (~dropped).float() / 0.7)
    torch.manual_seed(7)
    assert torch.equal(dropout(inputs), outputs)
    assert not torch.equal(dropout(inputs), outputs)


def test_dropout_is_the_identity_in_evaluation_and_rejects_a_bad_probability():
    inputs = torch.randn(5, 7)
    assert dropout_output_is(Dropout(0.5).eval(), inputs)
    assert dropout_output_is(Dropout(0.0).train(), inputs)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0)


def dropout_output_is(dropout: Dropout, inputs: torch.Tensor) -> bool:
    return dropout(inputs) is inputs


def test_packed_weight_products_match_torch_for_any_rows_and_strides():
    """The step loops' products: fewer rows than packed for, more, none, a column slice as input,
    and with rows added; float32 through oneDNN (where built in), float64 through torch."""
    torch.manual_seed(0)
    weight = torch.randn(96, 48)
    product = PackedWeight(weight.t(), rows=16)  # a transposed view, as the backward passes use
    assert (product.packed is not None) == onednn_applies(weight)
    wide = torch.randn(40, 200)
    for inputs in (torch.randn(16, 96), torch.randn(5, 96), torch.randn(40, 96), wide[:, 3:99]):
        expected = inputs @ weight
        torch.testing.assert_close(product(inputs), expected)
        added = wide[: len(inputs), 100:148]
        torch.testing.assert_close(product(inputs, added), expected + added)
    assert product(torch.randn(0, 96)).shape == (0, 48)
    double = PackedWeight(weight.double(), rows=8)
    assert double.packed is None
    inputs = torch.randn(8, 48, dtype=torch.float64)
    assert torch.equal(double(inputs), inputs @ weight.double().t())
    torch._C._set_mkldnn_enabled(False)  # flags() would also warn about TF32 (see rnn_step)
    try:
        assert PackedWeight(weight, rows=8).packed is None
    finally:
        torch._C._set_mkldnn_enabled(True)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_one_rnn_step_without_onednn_matches_the_rnn_and_leaves_onednn_on(cell):
    torch.manual_seed(0)
    rnn = build_rnn(cell, 16, 32, 2, 0.0).eval()
    inputs = torch.randn(3, 1, 16)
    state = torch.randn(2, 3, 32)
    state = (state, torch.randn(2, 3, 32)) if cell == "lstm" else state
    onednn = torch._C._get_mkldnn_enabled()
    seen = []  # oneDNN's switch while the RNN runs
    hook = rnn.register_forward_pre_hook(lambda *_: seen.append(torch._C._get_mkldnn_enabled()))
    outputs, after = rnn_step(rnn, inputs, state)
    hook.remove()
    assert seen == [False]
    expected, expected_after = rnn(inputs, state)
    torch.testing.assert_close(outputs, expected)
    torch.testing.assert_close(after, expected_after)
    assert torch._C._get_mkldnn_enabled() == onednn  # as it was: training keeps oneDNN


@pytest.mark.parametrize("with_mean", [True, False])
def test_copy_scores_equal_the_mixture_built_over_the_vocabulary(with_mean):
    """Rows with one slot, with the same piece in two slots (and the target among them), with
    padding slots, and without slots at all (gate 0)."""
    torch.manual_seed(0)
    vocab = 40
    logits = torch.randn(4, vocab).requires_grad_()
    scores = torch.randn(4, 4).requires_grad_()
    pad = PAD_ID
    pieces = torch.tensor([[7, 9, pad, pad], [5, 5, 12, pad], [3, 8, 11, 6], [pad] * 4])
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]]).bool()
    target = torch.tensor([9, 5, 20, 13])

    def both(scores_of):
        log_probs = torch.log_softmax(logits, dim=-1)
        # Slots and a "no copy" sentinel share one softmax; masked slots weigh nothing.
        with_sentinel = torch.cat([scores.masked_fill(~mask, float("-inf")),
                                   torch.zeros(4, 1)], dim=1)  # fmt: skip
        weights = torch.softmax(with_sentinel, dim=-1)[:, :-1]
        copy = CopyWeights(weights, weights.sum(-1), pieces)
        return scores_of(log_probs, copy, target, with_mean)

    plain, fast = both(mixture_scores), both(copy_scores)
    torch.testing.assert_close(fast.target, plain.target)
    if with_mean:
        torch.testing.assert_close(fast.mean, plain.mean)
    loss = lambda found: sum(found.smoothed_sums(0.1 if with_mean else 0.0))  # noqa: E731
    plain_grads = torch.autograd.grad(loss(plain), (logits, scores))
    fast_grads = torch.autograd.grad(loss(fast), (logits, scores))
    for plain_grad, fast_grad in zip(plain_grads, fast_grads):
        torch.testing.assert_close(fast_grad, plain_grad)


@pytest.mark.parametrize("bidirectional", [True, False], ids=["bidirectional", "forward"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_packed_lstm_computes_what_torch_lstm_computes_over_packed_sequences(bidirectional, dtype):
    """The encoder's hand-written loop gives nn.LSTM's outputs (zero on padding), final hidden
    states and cells, and the gradients of the inputs and every weight, for sentences of
    lengths 1 to the batch's width, with a padded column no sentence reaches."""
    torch.manual_seed(0)
    rnn = build_rnn("lstm", 5, 7, bidirectional=bidirectional).to(dtype)
    directions = 2 if bidirectional else 1
    lengths = torch.tensor([4, 7, 1, 3, 7, 2])
    inputs = torch.randn(6, 8, 5, dtype=dtype)
    output_grads = [
        torch.randn(6, 8, directions * 7, dtype=dtype),
        torch.randn(directions, 6, 7, dtype=dtype),
        torch.randn(directions, 6, 7, dtype=dtype),
    ]

    def run(run_layer):
        rnn.zero_grad()
        leaf = inputs.clone().requires_grad_()
        outputs, (hidden, cell) = run_layer(rnn, leaf, lengths)
        results = [outputs, hidden, cell]
        sum((result * grad).sum() for result, grad in zip(results, output_grads)).backward()
        return results + [leaf.grad] + [p.grad.clone() for p in rnn.parameters()]

    assert packed_lstm_applies(rnn, inputs)
    fast, plain = run(packed_lstm), run(run_packed)
    assert torch.all(fast[0][lengths[:, None] <= torch.arange(8)] == 0)  # padding
    rtol, atol = (1e-7, 1e-9) if dtype == torch.float64 else (1e-5, 1e-6)
    names = ["outputs", "final hidden", "final cell", "input gradient"]
    names += [name for name, _ in rnn.named_parameters()]
    for name, mine, theirs in zip(names, fast, plain, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=rtol, atol=atol, msg=name)


def test_packed_lstm_under_bf16_autocast_is_as_close_to_float32_as_torch_lstm():
    """Under bfloat16 autocast the loop's products run in bfloat16, the rest in float32: its
    outputs, final states and gradients stay as close to the float32 results as torch's own
    LSTM under the same autocast (which runs all of it in bfloat16)."""
    torch.manual_seed(0)
    rnn = build_rnn("lstm", 24, 32, bidirectional=True)
    lengths = torch.tensor([9, 3, 12, 1, 12, 7, 5, 10])
    inputs = torch.randn(8, 12, 24)
    output_grads = [torch.randn(8, 12, 64), torch.randn(2, 8, 32), torch.randn(2, 8, 32)]

    def run(run_layer, autocast):
        rnn.zero_grad()
        leaf = inputs.clone().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            outputs, (hidden, cell) = run_layer(rnn, leaf, lengths)
        results = [outputs.float(), hidden.float(), cell.float()]
        sum((result * grad).sum() for result, grad in zip(results, output_grads)).backward()
        return results + [leaf.grad] + [p.grad.clone() for p in rnn.parameters()]

    truth = run(run_packed, autocast=False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert packed_lstm_applies(rnn, inputs)
    fast, torch_bf16 = run(packed_lstm, autocast=True), run(run_packed, autocast=True)
    names = ["outputs", "final hidden", "final cell", "input gradient"]
    names += [name for name, _ in rnn.named_parameters()]
    for name, mine, theirs, exact in zip(names, fast, torch_bf16, truth, strict=True):
        my_error, their_error = (mine - exact).abs().max(), (theirs - exact).abs().max()
        assert 0 < my_error <= max(2 * their_error, 1e-3), name  # 0: bf16 products did run


def test_packed_lstm_leaves_other_layers_and_autocast_types_to_torch():
    """Two layers, a GRU, float16 autocast or float64 under autocast: `packed_lstm` is
    `run_packed`; the builder gives the encoder the loop only with model.custom_kernels."""
    lstm = build_rnn("lstm", 5, 7, bidirectional=True)
    inputs = torch.randn(2, 3, 5)
    assert not packed_lstm_applies(build_rnn("lstm", 5, 7, num_layers=2), inputs)
    assert not packed_lstm_applies(build_rnn("gru", 5, 7), inputs)
    with torch.autocast("cpu", dtype=torch.float16):
        assert not packed_lstm_applies(lstm, inputs)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not packed_lstm_applies(lstm.double(), inputs.double())  # autocast leaves float64
    assert not packed_lstm_applies(lstm, inputs.to(torch.bfloat16))
    config = ModelConfig(embedding_size=5, encoder_hidden_size=7, decoder_hidden_size=8)
    custom_model = build_seq2seq(config, 11, 11)
    assert custom_model.encoder.run is packed_lstm and custom_model.rows is in_row_blocks
    plain = dataclasses.replace(config, custom_kernels=False)
    plain_model = build_seq2seq(plain, 11, 11)
    assert plain_model.encoder.run is run_packed and plain_model.rows is plain_rows


def test_pad_rows_appends_zero_rows_up_to_a_multiple_of_the_block():
    inputs = torch.randn(70, 3, 2)
    padded = pad_rows(inputs)
    assert padded.shape == (2 * ROW_BLOCK, 3, 2)
    assert torch.equal(padded[:70], inputs) and not padded[70:].any()
    assert pad_rows(padded) is padded
    assert pad_rows(torch.randn(5, 4), block=4).shape == (8, 4)


def test_row_blocks_under_bf16_autocast_give_the_plain_values_over_a_few_row_counts():
    """Under bfloat16 autocast a linear layer over N rows runs over N rounded up to a multiple of
    ROW_BLOCK (zero rows), and its outputs and gradients are those of the plain product; without
    autocast the layer sees the inputs themselves."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(48, 40)
    seen_rows = set()

    def recorded(inputs):
        seen_rows.add(inputs.size(0))
        return layer(inputs)

    for rows in (1, 63, 64, 65, 130, 200):
        inputs = torch.randn(rows, 48)
        output_grad = torch.randn(rows, 40)
        results = []
        for apply in (in_row_blocks, plain_rows):
            layer.zero_grad()
            leaf = inputs.clone().requires_grad_()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                outputs = apply(recorded, leaf)
            (outputs.float() * output_grad).sum().backward()
            results.append([outputs.float(), leaf.grad, layer.weight.grad.clone(), layer.bias.grad])
        assert results[0][0].shape == (rows, 40)
        for name, mine, plain in zip(["outputs", "input", "weight", "bias"], *results, strict=True):
            torch.testing.assert_close(mine, plain, rtol=1e-2, atol=1e-2, msg=name)
    assert seen_rows - {1, 63, 65, 130, 200} == {64, 128, 192, 256}
    inputs = torch.randn(7, 48)
    assert in_row_blocks(lambda given: given, inputs) is inputs  # no autocast: as it is
