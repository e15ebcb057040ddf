"""Memory-network reader (end-to-end memory networks, Sukhbaatar et al. 2015): a story's
sentences become the keys and values of a `KeyValueMemory`, the question is the query, and after
several hops the updated query picks the answer word.

Sentences are bags of word embeddings weighted by position (so "mary went to the kitchen" and
"the kitchen went to mary" differ), plus a learned embedding of how recent the sentence is.

Two ways to share weights across hops (the paper's section 2.2): `layerwise`, one key and one
value embedding for every hop and a learned map of each hop's read into the query; `adjacent`,
hops+1 embeddings where hop k's keys use embedding k and its values embedding k+1 (the next hop's
keys), and the question the first.

With `null_slot`, every story's memory also holds one learned entry that is no sentence, which a
hop can read when no sentence answers it: a softmax must give its weight to something, and
without it "is John in the kitchen?" can only be answered from a read of some sentence's
location. On the real bAbI tasks it cut the error of the yes/no, negation, indefinite-knowledge
and induction tasks (6, 9, 10, 16) by 60% or more (docs/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
from torch import nn

from nmt.data.special import PAD_ID
from nmt.models.memory import KeyValueMemory


def position_weights(length: int, size: int) -> torch.Tensor:
    """The position encoding of end-to-end memory networks: `[length, size]`, word j of J gets
    weights (1 - j/J) - (k/d)(1 - 2j/J) over dimensions k (both counted from 1)."""
    j = torch.arange(1, length + 1, dtype=torch.float32)[:, None] / length
    k = torch.arange(1, size + 1, dtype=torch.float32)[None, :] / size
    return (1 - j) - k * (1 - 2 * j)


@torch.no_grad()
def small_init(embedding: nn.Embedding) -> None:
    """N(0, 0.1) as in end-to-end memory networks, for the adjacent reader: a bag of word vectors
    of torch's N(0, 1) gives addressing scores so large that the first reads are one-hot, and,
    without the softmax (linear start), weights that explode. (The layerwise reader keeps
    torch's initialisation, with which its recipe `stories` was tuned.)"""
    embedding.weight.normal_(0.0, 0.1)
    if embedding.padding_idx is not None:
        embedding.weight[embedding.padding_idx] = 0.0


class SentenceEncoder(nn.Module):
    """Word ids `[..., W]` -> position-weighted sum of their embeddings `[..., E]`."""

    def __init__(self, vocab_size: int, embedding_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=PAD_ID)

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        """Each sentence weighted by its own length J (its words are a prefix of the row)."""
        lengths = (words != PAD_ID).sum(-1, keepdim=True).clamp(min=1)  # [..., 1]
        size = self.embedding.embedding_dim
        j = torch.arange(1, words.size(-1) + 1, device=words.device)  # [W]
        j = (j / lengths)[..., None]  # [..., W, 1]
        k = torch.arange(1, size + 1, device=words.device) / size  # [E]
        weights = (1 - j) - k * (1 - 2 * j)  # position_weights(J, size) row by row
        return (self.embedding(words) * weights.to(self.embedding.weight.dtype)).sum(-2)


class ReaderOutput(NamedTuple):
    logits: torch.Tensor  # [B, A] answer scores
    weights: torch.Tensor  # [B, hops, S] addressing weights over the story's sentences


class MemoryNetworkReader(nn.Module):
    weights_per = "hop"  # what a row of ReaderOutput.weights is: one hop's addressing weights

    def __init__(
        self,
        vocab_size: int,
        num_answers: int,
        embedding_size: int = 64,
        hops: int = 3,
        max_sentences: int = 50,
        addressing: Literal["dot", "additive"] = "dot",
        top_k: int | None = None,
        tying: Literal["layerwise", "adjacent"] = "layerwise",
        answer_words: Sequence[Sequence[int]] | None = None,
        null_slot: bool = False,
        scaled_scores: bool = True,
    ) -> None:
        """`answer_words` (adjacent only): each answer's word ids (a list answer's words, none
        for an answer that is no word), so that an answer also scores as the dot product of the
        final query with its words' last embedding, the paper's W = C^K: an answer that is a
        word of the story can be read off the sentence that holds it. `null_slot`: the learned
        entry that is no sentence (see the module's docstring). `scaled_scores` off: dot-product
        addressing without the 1/sqrt(size) of scaled attention, as end-to-end memory networks
        score (sharper reads from the small initial embeddings)."""
        super().__init__()
        self.tying = tying
        self.hops = hops
        temperature = 1.0 if scaled_scores else embedding_size**-0.5  # undoes the scaling
        if tying == "adjacent":
            # embedding k: hop k's keys and hop k-1's values; the question reads embedding 0
            self.encoders = nn.ModuleList(
                SentenceEncoder(vocab_size, embedding_size) for _ in range(hops + 1)
            )
            self.times = nn.ModuleList(
                nn.Embedding(max_sentences, embedding_size) for _ in range(hops + 1)
            )
            for embedding in [*(e.embedding for e in self.encoders), *self.times]:
                small_init(embedding)
            width = max((len(words) for words in answer_words or []), default=0)
            rows = [list(words) + [PAD_ID] * (width - len(words)) for words in answer_words or []]
            self.register_buffer("answer_word_ids", torch.tensor(rows, dtype=torch.long)
                                 if rows and width else None)  # fmt: skip
            self.memories = nn.ModuleList(
                KeyValueMemory(embedding_size, embedding_size, embedding_size, addressing, 1,
                               top_k, project_query=False, project_reads=False,
                               temperature=temperature)  # fmt: skip
                for _ in range(hops)
            )
        elif tying == "layerwise":
            self.key_encoder = SentenceEncoder(vocab_size, embedding_size)
            self.value_encoder = SentenceEncoder(vocab_size, embedding_size)
            self.question_encoder = SentenceEncoder(vocab_size, embedding_size)
            self.key_time = nn.Embedding(max_sentences, embedding_size)
            self.value_time = nn.Embedding(max_sentences, embedding_size)
            self.memory = KeyValueMemory(
                embedding_size, embedding_size, embedding_size, addressing, hops, top_k,
                temperature=temperature,
            )
        else:
            raise ValueError(f"tying must be layerwise or adjacent, not {tying!r}")
        self.answer = nn.Linear(embedding_size, num_answers)
        # The null entry in each embedding (adjacent: hops + 1; layerwise: keys and values).
        self.null = None
        if null_slot:
            self.null = nn.Parameter(
                torch.empty(hops + 1 if tying == "adjacent" else 2, embedding_size)
            )
            nn.init.normal_(self.null, 0.0, 0.1 if tying == "adjacent" else 1.0)
        # Linear start: a buffer, so that a checkpoint reads as it was validated.
        self.register_buffer("linear", torch.tensor(False))
        self._register_load_state_dict_pre_hook(_softmax_when_unsaid)

    @property
    def linear_start(self) -> bool:
        """True while the memory is addressed without its softmax (linear start)."""
        return bool(self.linear)

    @linear_start.setter
    def linear_start(self, on: bool) -> None:
        self.linear.fill_(on)

    def forward(
        self, story: torch.Tensor, story_mask: torch.Tensor, question: torch.Tensor
    ) -> ReaderOutput:
        """story `[B, S, W]` word ids (sentences in order), story_mask `[B, S]` True on real
        sentences (a prefix), question `[B, Q]`."""
        linear = self.linear_start  # read once: on a GPU each read waits for the device
        sentences = story.size(1)
        count = story_mask.sum(1, keepdim=True)  # [B, 1]
        positions = torch.arange(sentences, device=story.device)[None, :]
        age = (count - 1 - positions).clamp(min=0)  # 0 = the latest sentence
        if self.tying == "layerwise":
            keys = self.key_encoder(story) + self.key_time(age)
            values = self.value_encoder(story) + self.value_time(age)
            (keys, values), mask = self._with_null([keys, values], story_mask)
            read = self.memory(self.question_encoder(question), keys, values, mask, linear)
            return ReaderOutput(self.answer(read.output), read.weights[..., :sentences])
        embedded = [encoder(story) + time(age) for encoder, time in zip(self.encoders, self.times)]
        embedded, mask = self._with_null(embedded, story_mask)
        query = self.encoders[0](question)
        weights = []
        for hop, memory in enumerate(self.memories):
            read = memory(query, embedded[hop], embedded[hop + 1], mask, linear)
            query = read.output
            weights.append(read.weights[:, 0, :sentences])
        logits = self.answer(query)
        if self.answer_word_ids is not None:
            answer_vectors = self.encoders[-1].embedding(self.answer_word_ids).sum(1)  # [A, E]
            logits = logits + query @ answer_vectors.T
        return ReaderOutput(logits, torch.stack(weights, dim=1))

    def _with_null(
        self, embedded: list[torch.Tensor], story_mask: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The sentences' embeddings `[B, S, E]` each followed by its null entry, and the mask
        with it present (unchanged without a null slot). The weights a hop gives the null entry
        are left out of ReaderOutput.weights: there they sum to less than one."""
        if self.null is None:
            return embedded, story_mask
        batch = story_mask.size(0)
        with_null = [torch.cat([e, null.expand(batch, 1, -1).to(e.dtype)], dim=1)
                     for e, null in zip(embedded, self.null)]  # fmt: skip
        return with_null, torch.cat([story_mask, story_mask.new_ones(batch, 1)], dim=1)


def _softmax_when_unsaid(state_dict: dict, prefix: str, *args: object) -> None:
    """Readers saved before linear start existed read with the softmax."""
    state_dict.setdefault(prefix + "linear", torch.tensor(False))
