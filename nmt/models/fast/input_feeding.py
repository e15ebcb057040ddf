"""Teacher-forced input feeding with a hand-written backward pass through time.

With input feeding each decoder step depends on the previous step's attentional vector, so
training has to loop over time steps. Under autograd every step then records ~30 small
operations, runs for every sentence of the batch up to the longest one's end, and the backward
pass computes each step's weight gradients separately (products with only B rows) and sums them
one step at a time. `InputFeedingLoop` runs the same computation as `AttentionDecoder`'s step
loop for the common case (one LSTM layer, additive attention), but:
- sentences are sorted by length and step t runs only those still going (like a packed
  sequence), so padding costs nothing (with nmt's length-bucketed batches that saves only a few
  percent of the steps: 54.3 -> 53.2 MFLOP per target token on Multi30k);
- per-step tensors live in preallocated buffers and the backward pass walks back by hand;
- every weight gradient is one product over all real target positions.
Outputs at padding positions are zero. A test pins outputs and gradients to the autograd loop's.

Step t, with x_t = [feed_{t-1}; h_{t-1}] and the embeddings' share of the gates given:
    gates = known_t + W x_t;  i, f, o = sigmoid(gates);  u = tanh(gates)
    c_t = f c_{t-1} + i u;  h_t = o tanh(c_t)
    e = tanh(W_q h_t + keys);  a = softmax(e v) over the source;  ctx = a values
    feed_t = tanh(W_o [h_t; ctx])
The backward pass overwrites some saved buffers, so the graph supports one backward call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from nmt.models.attention import AdditiveAttention
from nmt.models.fast.fed_lstm import fed_lstm_loop
from nmt.models.fast.lstm_step import lstm_step_backward_
from nmt.models.fast.ops import tanh_of_doubled_
from nmt.models.fast.packed import PackedWeight
from nmt.models.fast.rows import pack, previous_rows_of, unpack, unsort
from nmt.models.recurrent import current_weights

if TYPE_CHECKING:
    from nmt.models.decoder import AttentionDecoder, AttentionState


def fused_loop_applies(rnn: nn.Module, attention: nn.Module, slot_memory: nn.Module | None) -> bool:
    """Whether `fused_input_feeding` covers a decoder with these parts: one LSTM layer with
    biases, additive attention, no slot memory."""
    return (
        type(rnn) is nn.LSTM
        and rnn.num_layers == 1
        and not rnn.proj_size
        and rnn.bias
        and isinstance(attention, AdditiveAttention)
        and slot_memory is None
    )


def fused_input_feeding(
    decoder: AttentionDecoder, embedded: torch.Tensor, tgt_lengths: torch.Tensor,
    state: AttentionState,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """The input-feeding loop of `decoder` (see `fused_loop_applies`) through `InputFeedingLoop`:
    attentional vectors `[B, T, O]` and attention weights `[B, T, S]`, zero after each target's
    end. Under autocast (bf16-mixed) it runs `fed_lstm_loop`, which keeps autocast's casts."""
    rnn, attention = decoder.rnn, decoder.attention
    if torch.is_autocast_enabled(embedded.device.type):
        return fed_lstm_loop(decoder, embedded, tgt_lengths, state)
    known_size = embedded.size(-1)
    weights = current_weights(rnn)
    weight_ih = weights["weight_ih_l0"]
    known_gates = nn.functional.linear(
        embedded, weight_ih[:, :known_size], weights["bias_ih_l0"] + weights["bias_hh_l0"]
    )
    fed_weight = torch.cat([weight_ih[:, known_size:], weights["weight_hh_l0"]], dim=1)
    return InputFeedingLoop.apply(
        known_gates, tgt_lengths, state.hidden[:, 0], state.cell[:, 0], state.input_feed,
        fed_weight, attention.query_weight, attention.energy_vector, state.keys, state.enc_out,
        state.mask, decoder.output_layer.weight,
    )  # fmt: skip


class InputFeedingLoop(torch.autograd.Function):
    """Inputs: known_gates `[B, T, 4H]` (embedding share of the gates, biases included), target
    `lengths` `[B]`, initial `hidden`, `cell` `[B, H]` and `feed` `[B, O]`, the LSTM weight for
    `[feed; hidden]` `[4H, O + H]`, the attention's `query_weight` `[A, H]` and `energy` `[A]`,
    `keys` `[B, S, A]`, `values` `[B, S, K]`, `mask` `[B, S]` (True on real positions) and
    `output_weight` `[O, H + K]`. Returns attentional vectors `[B, T, O]` and attention weights
    `[B, T, S]` (the weights carry no gradient).

    Internally rows are packed: step t holds the first `counts[t]` sentences in length order, at
    rows `starts[t]:starts[t] + counts[t]` of every buffer; `positions` maps each packed row to
    its place in a flattened `[B * T]` view of the inputs and outputs.
    """

    @staticmethod
    def forward(
        ctx: Any,
        known_gates: torch.Tensor,
        lengths: torch.Tensor,
        hidden: torch.Tensor,
        cell: torch.Tensor,
        feed: torch.Tensor,
        weight: torch.Tensor,
        query_weight: torch.Tensor,
        energy: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
        output_weight: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, _ = known_gates.shape
        hidden_size, feed_size = hidden.size(1), feed.size(1)
        source_length = keys.size(1)
        packing = pack(lengths, steps)
        order, positions = packing.order, packing.positions
        counts = packing.counts
        total = len(positions)
        new = known_gates.new_empty
        fed_inputs = new(total, feed_size + hidden_size)  # x_t
        activations = new(total, 4 * hidden_size)  # i, f, u, o after their nonlinearity
        cells = new(total, hidden_size)
        cell_tanh = new(total, hidden_size)
        energies = new(total, source_length, keys.size(2))  # see doubled_keys
        weights = new(total, source_length)
        hidden_context = new(total, hidden_size + values.size(2))  # [h_t; ctx_t]
        features = new(total, feed_size)
        known = known_gates.reshape(batch * steps, -1).index_select(0, positions)
        first_cell = cell.index_select(0, order)
        fed_inputs[:batch, :feed_size] = feed.index_select(0, order)
        fed_inputs[:batch, feed_size:] = hidden.index_select(0, order)
        values = values.index_select(0, order)
        padding = (~mask).index_select(0, order)
        candidate = slice(2 * hidden_size, 3 * hidden_size)
        # tanh(z) = 2 sigmoid(2z) - 1 (see nmt.models.fast.ops). Energies are kept as
        # s = sigmoid(2 (W_q h + keys)): then e v = 2 s v - sum(v), and the constant drops out
        # of the softmax.
        doubled_keys = keys.index_select(0, order).mul_(2)
        gate_product = PackedWeight(weight, batch)
        doubled_query = PackedWeight(query_weight * 2, batch)
        doubled_energy = energy * 2
        doubled_output = PackedWeight(output_weight * 2, batch)
        for t, count in enumerate(counts):
            rows = packing.rows(t)
            previous_cell = previous_rows_of(first_cell, cells, packing, t)
            gates = gate_product(fed_inputs[rows], known[rows])
            act = activations[rows]
            torch.sigmoid(gates, out=act)
            act[:, candidate] = tanh_of_doubled_(gates[:, candidate].mul(2))
            input_gate, forget_gate, candidate_value, output_gate = act.chunk(4, 1)
            new_cell = cells[rows]
            torch.mul(forget_gate, previous_cell, out=new_cell)
            new_cell.addcmul_(input_gate, candidate_value)
            tanh_of_doubled_(torch.mul(new_cell, 2, out=cell_tanh[rows]))
            new_hidden = hidden_context[rows, :hidden_size]
            torch.mul(output_gate, cell_tanh[rows], out=new_hidden)
            energy_t = energies[rows]
            torch.add(doubled_keys[:count], doubled_query(new_hidden)[:, None, :], out=energy_t)
            energy_t.sigmoid_()
            scores = (energy_t @ doubled_energy).masked_fill_(padding[:count], float("-inf"))
            weights[rows] = torch.softmax(scores, dim=-1)
            hidden_context[rows, hidden_size:] = torch.bmm(weights[rows, None], values[:count])[
                :, 0
            ]
            features[rows] = tanh_of_doubled_(doubled_output(hidden_context[rows]))
            if t + 1 < len(counts):
                following = packing.rows(t + 1)
                fed_inputs[following, :feed_size] = features[rows][: counts[t + 1]]
                fed_inputs[following, feed_size:] = new_hidden[: counts[t + 1]]
        ctx.packing, ctx.shape = packing, (batch, steps)
        ctx.save_for_backward(
            order, positions, fed_inputs, activations, first_cell, cells, cell_tanh, energies,
            weights, hidden_context, features, weight, query_weight, energy, values, output_weight,
        )  # fmt: skip
        attention = unpack(weights, positions, batch, steps)
        ctx.mark_non_differentiable(attention)
        return unpack(features, positions, batch, steps), attention

    @staticmethod
    def backward(ctx: Any, grad_features: torch.Tensor, _grad_attention: Any) -> tuple:
        (
            order, positions, fed_inputs, activations, first_cell, cells, cell_tanh, energies,
            weights, hidden_context, features, weight, query_weight, energy, values, output_weight,
        ) = ctx.saved_tensors  # fmt: skip
        packing = ctx.packing
        counts = packing.counts
        batch, steps = ctx.shape
        hidden_size = cells.size(1)
        feed_size = features.size(1)
        grad_features = grad_features.reshape(batch * steps, -1).index_select(0, positions)
        grad_gates = torch.empty_like(activations)
        grad_outputs = torch.empty_like(features)  # before the tanh of feed_t
        grad_queries = energies.new_empty(len(positions), energies.size(2))
        grad_contexts = torch.empty_like(hidden_context[:, hidden_size:])
        grad_keys = torch.zeros_like(energies[:batch])
        grad_energy = torch.zeros_like(energy)
        # Carried to the step before, for the sentences in length order; rows of sentences that
        # have ended stay zero.
        grad_feed = features.new_zeros(batch, feed_size)
        grad_hidden = features.new_zeros(batch, hidden_size)
        grad_cell = features.new_zeros(batch, hidden_size)
        quadrupled_energy = energy * 4
        # The forward products' transposes, weights laid out once (see PackedWeight): each takes
        # a product's output gradient to its input gradient.
        fed_from_gates = PackedWeight(weight.t(), batch)
        hidden_from_query = PackedWeight(query_weight.t(), batch)
        hidden_context_from_output = PackedWeight(output_weight.t(), batch)
        for t in reversed(range(len(counts))):
            count = counts[t]
            rows = packing.rows(t)
            grad_feature = grad_features[rows] + grad_feed[:count]
            feature = features[rows]
            grad_output = grad_outputs[rows]
            torch.addcmul(grad_feature, grad_feature * feature, feature, value=-1, out=grad_output)
            grad_hidden_context = hidden_context_from_output(grad_output)  # [n, H + K]
            grad_context = grad_contexts[rows]
            grad_context.copy_(grad_hidden_context[:, hidden_size:])
            # softmax backward: a (da - sum(a da)), zero where a is (padding)
            weight_t = weights[rows]
            grad_weight_t = torch.bmm(values[:count], grad_context[:, :, None])[:, :, 0]
            grad_scores = weight_t * (
                grad_weight_t - (weight_t * grad_weight_t).sum(1, keepdim=True)
            )
            # With e = 2s - 1: d v = sum ds e = 2 sum ds s (a softmax gradient sums to zero over
            # the source), and d pre-activation = (1 - e^2) v ds = 4 s (1 - s) v ds, built in s's
            # buffer, which is not needed after this step.
            grad_energies = energies[rows]
            grad_energy.addmv_(
                grad_energies.reshape(-1, grad_energies.size(2)).t(), grad_scores.reshape(-1)
            )
            torch.addcmul(grad_energies, grad_energies, grad_energies, value=-1, out=grad_energies)
            grad_energies.mul_(grad_scores[:, :, None]).mul_(quadrupled_energy)
            grad_query = grad_queries[rows]
            torch.sum(grad_energies, dim=1, out=grad_query)
            grad_keys[:count] += grad_energies
            total_grad_hidden = hidden_from_query(
                grad_query, grad_hidden_context[:, :hidden_size] + grad_hidden[:count]
            )
            lstm_step_backward_(
                total_grad_hidden, grad_cell[:count], activations[rows], cell_tanh[rows],
                previous_rows_of(first_cell, cells, packing, t), grad_gates[rows],
            )  # fmt: skip
            grad_fed = fed_from_gates(grad_gates[rows])  # [n, O + H]
            grad_feed[:count] = grad_fed[:, :feed_size]
            grad_hidden[:count] = grad_fed[:, feed_size:]
        grad_weight = grad_gates.t() @ fed_inputs
        grad_output_weight = grad_outputs.t() @ hidden_context
        grad_query_weight = grad_queries.t() @ hidden_context[:, :hidden_size]
        grad_values = torch.bmm(
            unpack(weights, positions, batch, steps).transpose(1, 2),
            unpack(grad_contexts, positions, batch, steps),
        )
        return (
            unpack(grad_gates, positions, batch, steps),
            None,
            unsort(grad_hidden, order),
            unsort(grad_cell, order),
            unsort(grad_feed, order),
            grad_weight,
            grad_query_weight,
            grad_energy.mul_(2),
            unsort(grad_keys, order),
            grad_values,
            None,
            grad_output_weight,
        )
