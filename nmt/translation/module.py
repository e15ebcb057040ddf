"""LightningModule for translation: the loss, logging, and validation loss, perplexity and greedy
BLEU. The network is a plain `Seq2Seq`, built in `configure_model` once the data module has the
vocabulary; this module does no tensor math beyond the loss."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import lightning as L
import sacrebleu
import torch

from nmt.data.special import BOS_ID, EOS_ID, PAD_ID
from nmt.engine.config import OptimConfig
from nmt.engine.optim import configure_optimization, schedule_callbacks
from nmt.engine.throughput import TrainingLog
from nmt.engine.validation import ValidationTally
from nmt.models.loss import TokenScores, smoothed_nll
from nmt.models.seq2seq import Seq2Seq
from nmt.search import greedy_search
from nmt.translation.batch import TranslationBatch


class TokenLoss(NamedTuple):
    loss: torch.Tensor  # label-smoothed cross-entropy per target token (what is optimised)
    nll: torch.Tensor  # plain negative log-likelihood per target token (for perplexity)
    tokens: int  # non-padding target tokens


class LitSeq2Seq(L.LightningModule):
    """Teacher-forced training and greedy validation of a Seq2Seq (a TaskModule: see
    nmt.engine.fit). The data module gives the validation references and the detokenizer."""

    monitor = "val/bleu"
    monitor_mode = "max"

    def __init__(
        self,
        build_model: Callable[[], Seq2Seq],
        optim: OptimConfig,
        max_length_a: float = 1.5,
        max_length_b: int = 10,
        glossary_generator_loss: float = 0.0,
    ) -> None:
        """`glossary_generator_loss`: the weight of a second loss on batches with glossary
        memory, the output layer's own (before the copy mixture) on every target token that is
        not a pseudo-glossary swap; see `token_loss`."""
        super().__init__()
        self.build_model = build_model
        self.model: Seq2Seq | None = None
        self.optim = optim
        self.max_length_a = max_length_a
        self.max_length_b = max_length_b
        self.glossary_generator_loss = glossary_generator_loss
        self.training_log = TrainingLog()
        self._tally = ValidationTally(3)  # loss sum, nll sum, tokens; records: (index, text)
        self.last_validated_step: int | None = None

    def configure_model(self) -> None:
        if self.model is None:
            self.model = self.build_model()

    # ----- loss -----
    def token_loss(self, batch: TranslationBatch) -> TokenLoss:
        """Label-smoothed loss per target token of the model's distribution (the copy mixture
        where the batch has glossary memory). With `glossary_generator_loss` the output layer's
        own distribution is trained too: where copying gets a term right, the mixture's loss
        hardly reaches the output layer, which would then learn the terms only from sentences
        without memory and translate worse without a glossary."""
        non_pad = batch.tgt_out != PAD_ID
        target = batch.tgt_out[non_pad]
        found = self.model.target_distributions(
            batch.src, batch.src_lengths, batch.tgt_in, non_pad, batch.glossary
        )
        smoothing = self.optim.label_smoothing
        if found.copy is None:
            loss_sum, nll_sum = smoothed_nll(found.log_probs, target, smoothing)
        else:
            copy_scores = self.model.glossary.copy_scores
            mixture = copy_scores(found.log_probs, found.copy, target, smoothing > 0)
            loss_sum, nll_sum = mixture.smoothed_sums(smoothing)
            if self.glossary_generator_loss > 0:
                real = None if batch.invented is None else ~batch.invented[non_pad]
                generated = TokenScores.of(found.log_probs, target, with_mean=smoothing > 0)
                generator_sum = generated.smoothed_sums(smoothing, real)[0]
                loss_sum = loss_sum + self.glossary_generator_loss * generator_sum
        tokens = int(non_pad.sum())
        return TokenLoss(loss_sum / tokens, nll_sum / tokens, tokens)

    # ----- training -----
    def training_step(self, batch: TranslationBatch, batch_idx: int) -> torch.Tensor:
        parts = self.token_loss(batch)
        self.training_log.step(self, parts.loss, parts.tokens, int(batch.src_lengths.sum()))
        self.log("train/ppl", torch.exp(parts.nll.detach()), batch_size=parts.tokens)
        return parts.loss

    # ----- validation -----
    def validation_step(self, batch: TranslationBatch, batch_idx: int) -> None:
        parts = self.token_loss(batch)
        found = greedy_search(
            self.model, batch.src, batch.src_lengths, BOS_ID, EOS_ID, PAD_ID,
            self.max_length_a, self.max_length_b,
        )  # fmt: skip
        texts = self.trainer.datamodule.tokenizer.decode_tgt(found.tokens.tolist())
        sums = [float(parts.loss) * parts.tokens, float(parts.nll) * parts.tokens, parts.tokens]
        self._tally.add(sums, zip(batch.index.tolist(), texts))

    def on_validation_epoch_end(self) -> None:
        (loss, nll, tokens), hypotheses = self._tally.collect(self)
        if not hypotheses or self.trainer.sanity_checking:
            return
        self.last_validated_step = self.trainer.global_step
        all_references = self.trainer.datamodule.validation_references
        order = sorted(hypotheses)
        bleu = sacrebleu.corpus_bleu(
            [hypotheses[i] for i in order], [[all_references[i] for i in order]]
        )
        self.log("val/loss", loss / tokens, sync_dist=False)
        self.log("val/ppl", math.exp(min(nll / tokens, 50.0)), sync_dist=False)
        self.log("val/bleu", bleu.score, prog_bar=True, sync_dist=False)

    # ----- optimisation -----
    def configure_optimizers(self):
        return configure_optimization(self, self.optim)

    def configure_callbacks(self) -> list[L.Callback]:
        return [self.training_log, *schedule_callbacks(self.optim)]
