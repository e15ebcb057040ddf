"""The CPU replacements for torch.tanh, nn.Dropout, one RNN step and a product with a reused weight
compute what torch's own ones compute, and the glossary memory's training scores what its
mixture over the vocabulary gives."""

import pytest
import torch

from nmt.data.special import PAD_ID
from nmt.models.fast.copy_scores import copy_scores
from nmt.models.fast.ops import Dropout, rnn_step, tanh
from nmt.models.fast.packed import PackedWeight, onednn_applies
from nmt.models.glossary import CopyWeights, mixture_scores
from nmt.models.loss import TokenScores
from nmt.models.recurrent import build_rnn


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
        generated = TokenScores.of(log_probs, target, with_mean)
        return scores_of(generated, log_probs, copy, target)

    plain, fast = both(mixture_scores), both(copy_scores)
    torch.testing.assert_close(fast.target, plain.target)
    if with_mean:
        torch.testing.assert_close(fast.mean, plain.mean)
    loss = lambda found: sum(found.smoothed_sums(0.1 if with_mean else 0.0))  # noqa: E731
    plain_grads = torch.autograd.grad(loss(plain), (logits, scores))
    fast_grads = torch.autograd.grad(loss(fast), (logits, scores))
    for plain_grad, fast_grad in zip(plain_grads, fast_grads):
        torch.testing.assert_close(fast_grad, plain_grad)
