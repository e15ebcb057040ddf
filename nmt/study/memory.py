"""How far back can each cell remember? The echo task (a delayed copy): a stream of random
symbols, one-hot, and at step t the model must name the symbol it read at step t - d.

Sequences are d + scored_steps long and the last scored_steps steps are scored. With the default,
one, the model must carry the first symbol across d others (the latching test of Bengio et al.
1994 and Hochreiter and Schmidhuber 1997), which measures reach alone; with more it must hold that
many symbols at once, which measures capacity as well (a 10k-parameter cell holds about 10).

Each cell (a simple RNN, a GRU, an LSTM, and a dilated causal convolution whose receptive field
is fixed) gets the same parameter budget and the same training (steps, batch size, learning
rate, seeds), one fresh model per delay d. To see why the simple RNN falls behind, the study also
measures how much gradient the loss at the last step sends back to each earlier input, at
initialisation and after training.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from nmt.engine.rundir import check_output_dir
from nmt.errors import NmtError
from nmt.models.conv import DilatedCausalConv
from nmt.models.recurrent import build_rnn
from nmt.study.report import write_study_files
from nmt.study.settings import MemorySettings

logger = logging.getLogger(__name__)


class RecurrentOutputs(nn.Module):
    """A batch-first nn.RNN / GRU / LSTM that returns only its outputs [B, T, H]."""

    def __init__(self, cell: str, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.rnn = build_rnn(cell, input_size, hidden_size)  # type: ignore[arg-type]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.rnn(inputs)[0]


class EchoModel(nn.Module):
    """An encoder [B, T, K] -> [B, T, H] (recurrent or convolutional) and a linear readout to the
    logits of the K symbols at every step, [B, T, K]."""

    def __init__(self, encoder: nn.Module, size: int, symbols: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.readout = nn.Linear(size, symbols)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.readout(self.encoder(inputs))


def build_echo_model(cell: str, size: int, settings: MemorySettings) -> EchoModel:
    """One layer of `cell` with `size` hidden units (channels for conv: WaveNet's gated
    activation, which learns the long taps here far faster than ReLU, and dilations
    conv_kernel**level, so that the receptive field is conv_kernel**conv_levels) and its
    readout to settings.symbols logits."""
    if cell == "conv":
        encoder: nn.Module = DilatedCausalConv(
            settings.symbols, size, settings.conv_levels, settings.conv_kernel, gated=True,
            dilation_base=settings.conv_kernel,
        )  # fmt: skip
    else:
        encoder = RecurrentOutputs(cell, settings.symbols, size)
    return EchoModel(encoder, size, settings.symbols)


@torch.no_grad()
def chrono_init(rnn: nn.RNNBase, horizon: int) -> None:
    """Open the keep gates of a GRU or LSTM for dependencies up to `horizon` steps: the chrono
    initialisation (Tallec and Ollivier 2018), forget (LSTM) or update (GRU) gate biases
    log(U[1, horizon - 1]), so unit j keeps its state for about exp(bias_j) steps; an LSTM's
    input gate bias is the negative. torch's default (biases near 0) starts each gate half
    shut, so that the state and its gradient halve at every step. A simple RNN has no gate."""
    if isinstance(rnn, nn.RNN):
        return
    size = rnn.hidden_size
    keep = torch.empty(size).uniform_(1, max(horizon - 1, 2)).log()
    second = slice(size, 2 * size)  # LSTM gates i, f, g, o; GRU gates r, z, n: f and z second
    rnn.bias_ih_l0[second] = keep
    rnn.bias_hh_l0[second] = 0.0
    if isinstance(rnn, nn.LSTM):
        rnn.bias_ih_l0[:size] = -keep
        rnn.bias_hh_l0[:size] = 0.0


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def size_for_parameters(cell: str, settings: MemorySettings) -> int:
    """The hidden size (channels) whose model has the parameter count nearest
    settings.parameters: the count grows with the size, so double until past it, then bisect."""
    target = settings.parameters
    count = lambda size: count_parameters(build_echo_model(cell, size, settings))
    high = 1
    while count(high) < target:
        high *= 2
    low = max(1, high // 2)
    while low < high:  # smallest size with count >= target
        middle = (low + high) // 2
        low, high = (middle + 1, high) if count(middle) < target else (low, middle)
    if high > 1 and target - count(high - 1) < count(high) - target:
        return high - 1
    return high


def echo_batch(
    generator: torch.Generator, sequences: int, length: int, symbols: int, delay: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random one-hot inputs [B, T, K] and the targets of steps delay .. T-1, [B, T - delay]:
    at step t, the symbol of step t - delay."""
    ids = torch.randint(symbols, (sequences, length), generator=generator)
    return F.one_hot(ids, symbols).float(), ids[:, : length - delay]


def train_echo(
    model: EchoModel, delay: int, settings: MemorySettings, generator: torch.Generator
) -> None:
    """Adam on fresh random sequences each step (no data is seen twice: nothing to overfit)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    length = delay + settings.scored_steps
    model.train()
    for _ in range(settings.steps):
        inputs, targets = echo_batch(
            generator, settings.batch_size, length, settings.symbols, delay
        )
        logits = model(inputs)[:, delay:]  # [B, scored_steps, K]
        loss = F.cross_entropy(logits.reshape(-1, settings.symbols), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # the same for every cell
        optimizer.step()


@torch.no_grad()
def echo_accuracy(
    model: EchoModel, delay: int, settings: MemorySettings, generator: torch.Generator
) -> float:
    """The share of steps t >= delay of held-out sequences where the model names symbol t - d."""
    model.eval()
    inputs, targets = echo_batch(
        generator, settings.test_sequences, delay + settings.scored_steps, settings.symbols, delay
    )
    predicted = model(inputs)[:, delay:].argmax(dim=-1)
    return (predicted == targets).float().mean().item()


def gradient_by_lag(
    model: EchoModel, delay: int, settings: MemorySettings, generator: torch.Generator
) -> list[float]:
    """||d loss(last step) / d input(T-1-lag)|| for lag = 0 .. T-1, averaged over 64 held-out
    sequences of the training length T = delay + scored_steps: how much learning signal
    reaches `lag` steps back (the task needs it at lag = delay)."""
    model.eval()
    length = delay + settings.scored_steps
    inputs, targets = echo_batch(generator, 64, length, settings.symbols, delay)
    inputs.requires_grad_(True)
    loss = F.cross_entropy(model(inputs)[:, -1], targets[:, -1], reduction="sum")
    (gradient,) = torch.autograd.grad(loss, inputs)  # [B, T, K]; row b only from loss b
    return gradient.norm(dim=-1).mean(dim=0).flip(0).tolist()


class CellResults(NamedTuple):
    model: dict[str, Any]  # size, parameters, receptive_field (None for a recurrent cell)
    accuracy: dict[int, float]  # delay -> held-out accuracy (the gradient delay included)
    initial_gradients: list[float]  # gradient_by_lag at initialisation ...
    trained_gradients: list[float]  # ... and after training, at settings.gradient_delay
    seconds: float  # training time, all delays together


def study_cell(cell: str, settings: MemorySettings) -> CellResults:
    """One cell at every delay: a fresh model each time, from the same seed."""
    size = size_for_parameters(cell, settings)
    accuracy, initial, trained, seconds = {}, [], [], 0.0
    for delay in sorted({*settings.delays, settings.gradient_delay}):
        model = build_study_model(cell, size, delay, settings)
        measure = delay == settings.gradient_delay
        if measure:
            initial = gradient_by_lag(model, delay, settings, _generator(settings, delay, 2))
        start = time.perf_counter()
        train_echo(model, delay, settings, _generator(settings, delay, 0))
        seconds += time.perf_counter() - start
        accuracy[delay] = echo_accuracy(model, delay, settings, _generator(settings, delay, 1))
        logger.info("%s delay %d: accuracy %.3f (%.1f s)", cell, delay, accuracy[delay],
                    time.perf_counter() - start)  # fmt: skip
        if measure:
            trained = gradient_by_lag(model, delay, settings, _generator(settings, delay, 2))
    info = {"size": size, "parameters": count_parameters(model),
            "receptive_field": getattr(model.encoder, "receptive_field", None)}  # fmt: skip
    if isinstance(model.encoder, DilatedCausalConv):
        blocks = model.encoder.blocks
        info["kernel_size"] = blocks[0].conv.kernel_size[0]
        info["dilations"] = [block.conv.dilation[0] for block in blocks]
    return CellResults(info, accuracy, initial, trained, seconds)


def build_study_model(cell: str, size: int, delay: int, settings: MemorySettings) -> EchoModel:
    """The model for one delay, seeded; gated cells chrono-initialised for the training
    sequences' length (delay + scored_steps) unless settings.gate_init is "torch"."""
    torch.manual_seed(settings.seed)
    model = build_echo_model(cell, size, settings)
    if isinstance(model.encoder, RecurrentOutputs) and settings.gate_init == "chrono":
        chrono_init(model.encoder.rnn, delay + settings.scored_steps)
    return model


def study_memory(settings: MemorySettings) -> dict[str, Any]:
    """Train and score every cell at every delay: the figures the report is made from (a
    dictionary that JSON can hold)."""
    settings.check()
    delays = sorted(settings.delays)
    torch.set_flush_denormal(True)  # vanishing gradients turn subnormal: 3x slower on x86
    try:
        cells = {cell: study_cell(cell, settings) for cell in settings.cells}
    finally:
        torch.set_flush_denormal(False)
    accuracy = {cell: [result.accuracy[d] for d in delays] for cell, result in cells.items()}
    gradient_delay = settings.gradient_delay
    return {
        "task": "echo", "settings": {**dataclasses.asdict(settings), "delays": delays},
        "chance": 1 / settings.symbols,
        "models": {cell: result.model for cell, result in cells.items()},
        "accuracy": accuracy,
        "usable_delay": {cell: usable_delay(delays, accuracy[cell], settings.threshold)
                         for cell in cells},
        "gradients": {
            "delay": gradient_delay, "length": gradient_delay + settings.scored_steps,
            "accuracy": {cell: result.accuracy[gradient_delay] for cell, result in cells.items()},
            "initial": {cell: result.initial_gradients for cell, result in cells.items()},
            "trained": {cell: result.trained_gradients for cell, result in cells.items()},
        },
        "train_seconds": {cell: round(result.seconds, 1) for cell, result in cells.items()},
    }  # fmt: skip


def usable_delay(delays: Sequence[int], accuracy: Sequence[float], threshold: float) -> int | None:
    """The largest delay up to which every delay tried reaches `threshold` (None: not even the
    first)."""
    usable = None
    for delay, score in zip(delays, accuracy):
        if score < threshold:
            break
        usable = delay
    return usable


def run_memory_study(
    settings: MemorySettings, out_dir: str | Path, force: bool = False
) -> dict[str, Any]:
    """The study, with results.json, report.md, accuracy.png and gradients.png written to
    `out_dir` (a folder that already holds files is refused unless `force`)."""
    settings.check()
    out_dir = check_study_dir(out_dir, force)
    start = time.perf_counter()
    results = study_memory(settings)
    results["wall_seconds"] = round(time.perf_counter() - start, 1)
    write_study_files(out_dir, results)
    return results


def check_study_dir(out_dir: str | Path, force: bool) -> Path:
    """The output folder, checked before any work: writable, and empty unless `force` (then
    the study's own files are replaced and any others left alone)."""
    out_dir = check_output_dir(out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise NmtError(f"{out_dir} already holds files; choose another --out or add --force to "
                       "replace the study's files there")  # fmt: skip
    return out_dir


def _generator(settings: MemorySettings, delay: int, split: int) -> torch.Generator:
    """A generator of its own for each (delay, split): every cell trains on the same sequences
    and is tested on the same held-out ones (split 0 train, 1 test, 2 gradients)."""
    return torch.Generator().manual_seed(settings.seed * 1_000_003 + delay * 3 + split)
