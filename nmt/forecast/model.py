"""Builds a WindowForecaster from a ForecasterModelConfig and the data's shape: the one place
where the forecaster's config chooses classes (the encoder of a window: MLP, recurrent or
dilated causal convolution, whose receptive field is logged)."""

from __future__ import annotations

import logging

from torch import nn

from nmt.forecast.config import ForecasterModelConfig
from nmt.models.conv import DilatedCausalConv
from nmt.models.forecaster import ConvSummary, MlpSummary, RecurrentSummary, WindowForecaster
from nmt.models.recurrent import build_rnn

logger = logging.getLogger(__name__)


def build_forecaster(
    config: ForecasterModelConfig, input_length: int, feature_size: int, horizon: int,
    observed_flag: bool,
) -> WindowForecaster:  # fmt: skip
    """The forecaster a config describes for windows of `input_length` x `feature_size`
    (the series, covariates, and with `observed_flag` the observed flag last)."""
    summary: nn.Module
    if config.encoder == "mlp":
        summary = MlpSummary(input_length, feature_size, config.hidden_size, config.layers,
                             config.dropout)  # fmt: skip
    elif config.encoder == "conv":
        levels = config.levels or levels_to_cover(input_length, config.kernel_size)
        conv = DilatedCausalConv(feature_size, config.hidden_size, levels, config.kernel_size,
                                 config.gated, config.dropout)  # fmt: skip
        logger.info("dilated causal conv: receptive field %d steps (windows of %d)",
                    conv.receptive_field, input_length)  # fmt: skip
        if conv.receptive_field < input_length:
            logger.warning("the conv sees only the last %d of the window's %d steps; raise "
                           "model.levels to see them all", conv.receptive_field,
                           input_length)  # fmt: skip
        summary = ConvSummary(conv)
    else:
        summary = RecurrentSummary(build_rnn(config.encoder, feature_size, config.hidden_size,
                                             config.layers, config.dropout))  # fmt: skip
    output_steps = 1 if config.output == "recursive" else horizon
    return WindowForecaster(
        summary, output_steps, max(len(config.quantiles), 1), config.level,
        feature_size - 1 if observed_flag else None, config.dropout,
        input_length if config.linear_skip else None,
    )  # fmt: skip


def levels_to_cover(steps: int, kernel_size: int) -> int:
    """The fewest dilation levels whose receptive field, 1 + (k - 1)(2^levels - 1), is at
    least `steps`."""
    levels = 1
    while 1 + (kernel_size - 1) * (2**levels - 1) < steps:
        levels += 1
    return levels
