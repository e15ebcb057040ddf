"""The dilated causal convolution: it looks only back, exactly as far as its receptive field, and
a tiny one learns to echo its input from inside that field and not from beyond it."""

import pytest
import torch
from torch import nn

from nmt.models.conv import DilatedCausalConv


def dependence(conv: DilatedCausalConv, steps: int) -> torch.Tensor:
    """[T, T] booleans: entry (t, s) is True when output t has a nonzero gradient with respect to
    input s (float64, so a true dependence never rounds to zero)."""
    inputs = torch.randn(1, steps, 3, dtype=torch.float64, requires_grad=True)
    outputs = conv(inputs)
    rows = []
    for t in range(steps):
        (gradient,) = torch.autograd.grad(outputs[0, t].sum(), inputs, retain_graph=True)
        rows.append(gradient[0].abs().sum(dim=-1) > 0)
    return torch.stack(rows)


def window(steps: int, receptive_field: int) -> torch.Tensor:
    """What the outputs should depend on: t - receptive_field < s <= t."""
    t = torch.arange(steps)[:, None]
    s = torch.arange(steps)[None, :]
    return (s <= t) & (t - s < receptive_field)


@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize(
    "levels, kernel_size, base, receptive_field",
    [(1, 2, 2, 2), (3, 2, 2, 8), (2, 3, 2, 7), (3, 3, 2, 15), (2, 4, 4, 16), (2, 3, 3, 9)],
)
def test_outputs_depend_on_exactly_the_receptive_field(
    levels, kernel_size, base, receptive_field, gated
):
    torch.manual_seed(0)
    conv = DilatedCausalConv(3, 8, levels, kernel_size, gated=gated, dilation_base=base).double()
    assert conv.receptive_field == receptive_field
    steps = receptive_field + 6
    assert torch.equal(dependence(conv, steps), window(steps, receptive_field))


@pytest.mark.parametrize("gated", [False, True])
def test_a_perturbation_moves_only_the_outputs_it_may_reach(gated):
    torch.manual_seed(1)
    conv = DilatedCausalConv(3, 16, levels=3, kernel_size=2, gated=gated, dropout=0.5).eval()
    inputs = torch.randn(4, 30, 3)
    before = conv(inputs)
    changed = inputs.clone()
    changed[:, 10] += torch.randn(4, 3)
    after = conv(changed)
    moved = (after - before).abs().amax(dim=(0, 2)) > 0  # [T]
    expected = torch.zeros(30, dtype=torch.bool)
    expected[10 : 10 + conv.receptive_field] = True
    assert torch.equal(moved, expected)
    assert torch.equal(after[:, :10], before[:, :10])  # bit for bit: no leak from the future


@pytest.mark.parametrize("gated", [False, True])
def test_shapes_and_sizes(gated):
    conv = DilatedCausalConv(5, 7, levels=4, kernel_size=3, gated=gated)
    assert conv.output_size == 7 and conv.receptive_field == 31
    assert conv(torch.randn(2, 9, 5)).shape == (2, 9, 7)
    assert conv(torch.randn(1, 1, 5)).shape == (1, 1, 7)  # shorter than the receptive field
    dilations = [block.conv.dilation[0] for block in conv.blocks]
    assert dilations == [1, 2, 4, 8]
    assert [block.conv.out_channels for block in conv.blocks] == [14 if gated else 7] * 4
    tiled = DilatedCausalConv(5, 7, levels=3, kernel_size=4, gated=gated, dilation_base=4)
    assert [block.conv.dilation[0] for block in tiled.blocks] == [1, 4, 16]
    assert tiled.receptive_field == 4**3


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="levels 0"):
        DilatedCausalConv(3, 4, levels=0)
    with pytest.raises(ValueError, match="kernel_size 1"):
        DilatedCausalConv(3, 4, levels=2, kernel_size=1)
    for base in (1, 3):  # a base above the kernel size would skip offsets inside the field
        with pytest.raises(ValueError, match=f"dilation_base {base}"):
            DilatedCausalConv(3, 4, levels=2, dilation_base=base)


def echo_accuracy(delay: int, levels: int = 3, symbols: int = 4, steps: int = 150) -> float:
    """Train a small conv (receptive field 8 at 3 levels) to output the symbol it read `delay`
    steps earlier; its accuracy on fresh sequences, counted where such a symbol exists."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    conv = DilatedCausalConv(symbols, 16, levels)
    model = nn.Sequential(conv, nn.Linear(16, symbols))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def batch(size: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.randint(symbols, (size, 24 + delay), generator=generator)
        return nn.functional.one_hot(ids, symbols).float(), ids[:, :-delay]

    for _ in range(steps):
        inputs, targets = batch(32)
        logits = model(inputs)[:, delay:]
        loss = nn.functional.cross_entropy(logits.reshape(-1, symbols), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    inputs, targets = batch(256)
    with torch.no_grad():
        predicted = model(inputs)[:, delay:].argmax(dim=-1)
    return (predicted == targets).float().mean().item()


def test_a_tiny_conv_echoes_from_inside_its_receptive_field():
    assert echo_accuracy(delay=7) > 0.95  # receptive field 8: steps t-7 .. t


def test_a_tiny_conv_cannot_echo_from_beyond_its_receptive_field():
    assert echo_accuracy(delay=8) < 0.35  # one step too far: chance is 0.25
