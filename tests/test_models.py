"""Contract tests for encoders, attention and decoders, over every variant the builder makes."""

import pytest
import torch
from torch import nn

from nmt.data.special import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from nmt.models.attention import ATTENTIONS
from nmt.models.decoder import step_by_step
from nmt.models.embedding import TokenDropout
from nmt.models.encoder import RecurrentEncoder
from nmt.models.fast.fed_lstm import FedLSTM, fed_lstm_loop
from nmt.models.fast.input_feeding import fused_input_feeding
from nmt.models.quantize import quantize_dynamic_int8
from nmt.models.recurrent import build_rnn
from nmt.models.weight_drop import RecurrentWeightDropout
from nmt.translation.config import ModelConfig, SlotMemoryConfig
from nmt.translation.model import build_embedding, build_seq2seq

VOCAB = 13


def tiny_config(**overrides) -> ModelConfig:
    sizes = dict(
        embedding_size=8,
        encoder_hidden_size=6,
        decoder_hidden_size=12,
        dropout=0.0,
        attention_size=7,
    )
    return ModelConfig(**{**sizes, **overrides})


VARIANTS = [
    dict(attention="none"),
    dict(attention="none", cell="gru", bidirectional=False, encoder_layers=2, decoder_layers=2),
    dict(attention="bahdanau", input_feeding=True),
    dict(attention="bahdanau", input_feeding=False, cell="rnn"),
    dict(attention="luong", input_feeding=False),
    dict(attention="luong", input_feeding=True, cell="gru", encoder_layers=2, decoder_layers=3),
    dict(attention="dot", input_feeding=False),
    dict(attention="dot", input_feeding=True, tie_embeddings=True),
    dict(attention="bahdanau", input_feeding=True, encoder_layers=2, decoder_layers=2),
    dict(attention="luong", input_feeding=False, slot_memory=SlotMemoryConfig(slots=5)),
    dict(attention="bahdanau", slot_memory=SlotMemoryConfig(slots=5, combine="concat", top_k=2)),
    dict(attention="none", slot_memory=SlotMemoryConfig(slots=4, addressing="additive")),
]


def padded_batch(lengths, vocab=VOCAB, seed=0):
    generator = torch.Generator().manual_seed(seed)
    src = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for row, length in enumerate(lengths):
        src[row, :length] = torch.randint(4, vocab, (length,), generator=generator)
    return src, torch.tensor(lengths)


@pytest.mark.parametrize("name", sorted(ATTENTIONS))
def test_attention_weights_sum_to_one_and_ignore_padding(name):
    torch.manual_seed(0)
    attention = ATTENTIONS[name](query_size=6, key_size=6, hidden_size=5)
    values = torch.randn(3, 5, 6)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    values_with_junk = values.masked_fill(~mask[:, :, None], 1e4)  # padding must not matter
    query = torch.randn(3, 4, 6)
    out = attention(query, attention.project_keys(values_with_junk), values_with_junk, mask)
    assert out.weights.shape == (3, 4, 5)
    torch.testing.assert_close(out.weights.sum(-1), torch.ones(3, 4))
    assert torch.all(out.weights[~mask[:, None, :].expand(-1, 4, -1)] == 0)
    clean = attention(query, attention.project_keys(values), values, mask)
    torch.testing.assert_close(out.context, clean.context)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_packed_batch_matches_each_sentence_alone(cell):
    torch.manual_seed(0)
    encoder = RecurrentEncoder(
        build_embedding(VOCAB, 8), build_rnn(cell, 8, 5, num_layers=2, bidirectional=True),
        nn.Dropout(0.0),
    ).eval()
    src, lengths = padded_batch([5, 2, 4])
    batched = encoder(src, lengths)
    for row, length in enumerate(lengths.tolist()):
        alone = encoder(src[row : row + 1, :length], lengths[row : row + 1])
        torch.testing.assert_close(batched.outputs[row, :length], alone.outputs[0])
        torch.testing.assert_close(batched.final_hidden[row], alone.final_hidden[0])
        assert torch.all(batched.outputs[row, length:] == 0)
    assert batched.mask.tolist()[1] == [True, True, False, False, False]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(map(str, v.values())))
def test_teacher_forced_path_equals_step_by_step(variant):
    torch.manual_seed(0)
    model = build_seq2seq(tiny_config(**variant), VOCAB, VOCAB).eval()
    src, src_lengths = padded_batch([4, 6, 1])
    tgt_in, _ = padded_batch([5, 5, 5], seed=1)
    logits = model(src, src_lengths, tgt_in)  # [B, T, V]
    state = model.encode(src, src_lengths)
    for t in range(tgt_in.size(1)):
        step = model.decode_step(tgt_in[:, t], state)
        torch.testing.assert_close(step.log_probs, torch.log_softmax(logits[:, t], -1))
        state = step.state
        if variant["attention"] == "none":
            assert step.attention is None
        else:
            assert torch.all(step.attention[2, 1:] == 0)  # padding of the 1-token sentence


@pytest.mark.parametrize("layers", [1, 3])
def test_fed_lstm_matches_the_layer_called_step_by_step(layers):
    """Input feeding's training path (FedLSTM) computes what nn.LSTM computes one step at a time,
    and its gradients reach the layer's own weights unchanged."""
    torch.manual_seed(0)
    rnn = build_rnn("lstm", 5 + 3, 4, num_layers=layers)
    known, fed = torch.randn(2, 6, 5), torch.randn(2, 6, 3)
    state = (torch.randn(layers, 2, 4), torch.randn(layers, 2, 4))

    lstm = FedLSTM(rnn, known, state)
    fast = torch.stack([lstm.step(t, fed[:, t]) for t in range(6)], 1)
    fast.square().sum().backward()
    fast_grads = [p.grad.clone() for p in rnn.parameters()]
    rnn.zero_grad()

    native, native_state = [], state
    for t in range(6):
        out, native_state = rnn(torch.cat([known, fed], -1)[:, t : t + 1], native_state)
        native.append(out)
    native = torch.cat(native, 1)
    native.square().sum().backward()
    torch.testing.assert_close(fast, native)
    torch.testing.assert_close(lstm.cell[-1], native_state[1][-1])
    for fast_grad, param in zip(fast_grads, rnn.parameters()):
        torch.testing.assert_close(fast_grad, param.grad)


def custom_and_plain(variant: dict) -> tuple[nn.Module, nn.Module]:
    """The same model built with the speed paths (model.custom_kernels) and without, with the
    same weights, in float64."""
    torch.manual_seed(0)
    custom = build_seq2seq(tiny_config(**variant, custom_kernels=True), VOCAB, VOCAB).double()
    plain = build_seq2seq(tiny_config(**variant, custom_kernels=False), VOCAB, VOCAB).double()
    plain.load_state_dict(custom.state_dict())
    return custom, plain


def features_and_gradients(model, src, src_lengths, tgt_in, output_grad):
    model.zero_grad()
    features = model.features(src, src_lengths, tgt_in)
    (features * output_grad).sum().backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return features, grads


def test_the_builder_chooses_the_input_feeding_loop_once():
    """One LSTM layer with additive attention: the hand-written loop; other LSTM decoders:
    FedLSTM; other cells, or custom_kernels=false: the plain step loop."""
    def loop(**variant):
        return build_seq2seq(tiny_config(**variant), VOCAB, VOCAB).decoder.input_feeding

    assert loop(attention="bahdanau") is fused_input_feeding
    assert loop(attention="luong") is fed_lstm_loop
    assert loop(attention="bahdanau", decoder_layers=2) is fed_lstm_loop
    assert loop(attention="bahdanau", slot_memory=SlotMemoryConfig(slots=3)) is fed_lstm_loop
    assert loop(attention="bahdanau", cell="gru") is step_by_step
    assert loop(attention="bahdanau", custom_kernels=False) is step_by_step
    assert loop(attention="bahdanau", input_feeding=False) is None


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(map(str, v.values())))
def test_speed_paths_compute_what_plain_pytorch_computes(variant):
    """model.custom_kernels=false runs plain PyTorch everywhere (torch.tanh, nn.Dropout, the step
    loop); the speed paths give the same outputs and gradients, padding and all, in float64."""
    custom, plain = custom_and_plain(variant)
    src, src_lengths = padded_batch([4, 6, 1, 3])
    tgt_in, _ = padded_batch([2, 6, 1, 4], seed=1)  # right-padded, as in training
    real = (tgt_in != 0)[:, :, None]
    output_grad = torch.randn(4, 6, custom.decoder.output_size, dtype=torch.float64) * real
    custom_features, custom_grads = features_and_gradients(
        custom.train(), src, src_lengths, tgt_in, output_grad
    )
    plain_features, plain_grads = features_and_gradients(
        plain.train(), src, src_lengths, tgt_in, output_grad
    )
    # The hand-written loop leaves padding positions at zero; the others compute them anyway.
    torch.testing.assert_close(custom_features * real, plain_features * real)
    assert custom_grads.keys() == plain_grads.keys()
    assert "encoder.rnn.weight_hh_l0" in custom_grads
    for name, grad in plain_grads.items():
        torch.testing.assert_close(custom_grads[name], grad, rtol=1e-5, atol=1e-7, msg=name)
    state_custom = custom.eval().encode(src, src_lengths)
    state_plain = plain.eval().encode(src, src_lengths)
    step_custom = custom.decode_step(tgt_in[:, 0], state_custom)
    step_plain = plain.decode_step(tgt_in[:, 0], state_plain)
    torch.testing.assert_close(step_custom.log_probs, step_plain.log_probs)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_input_feeding_loop_leaves_padding_at_zero_and_matches_fed_lstm(dtype):
    """The hand-written backward through time (which skips each sentence's padding) also gives
    the outputs and gradients of the autograd loop through FedLSTM: in float64 to rounding, and
    in float32 (what training runs) to float32's precision."""
    torch.manual_seed(0)
    model = build_seq2seq(tiny_config(attention="bahdanau"), VOCAB, VOCAB).to(dtype).train()
    src, src_lengths = padded_batch([4, 6, 1, 3])
    tgt_in, _ = padded_batch([2, 6, 1, 4], seed=1)
    real = (tgt_in != 0)[:, :, None]
    output_grad = torch.randn(4, 6, 12, dtype=dtype) * real
    # (rtol, atol) of the outputs and of the gradients
    output_tolerance, gradient_tolerance = {
        torch.float64: ((1e-6, 1e-7), (1e-5, 1e-7)),
        torch.float32: ((1.3e-6, 1e-5), (1e-4, 1e-5)),  # torch's float32 defaults for outputs
    }[dtype]
    runs = []
    for loop in (fused_input_feeding, fed_lstm_loop):
        model.decoder.input_feeding = loop
        runs.append(features_and_gradients(model, src, src_lengths, tgt_in, output_grad))
    (loop_features, loop_grads), (autograd_features, autograd_grads) = runs
    assert torch.all(loop_features[~real.expand_as(loop_features)] == 0)
    # The autograd loop's softmax runs in float32 (attention._attend), hence the tolerance.
    rtol, atol = output_tolerance
    torch.testing.assert_close(loop_features, autograd_features * real, rtol=rtol, atol=atol)
    assert loop_grads.keys() == autograd_grads.keys()
    assert "decoder.attention.energy.weight" in loop_grads
    rtol, atol = gradient_tolerance
    for name, grad in autograd_grads.items():
        torch.testing.assert_close(loop_grads[name], grad, rtol=rtol, atol=atol, msg=name)


def test_quantized_additive_attention_translates():
    """Dynamic quantization replaces nn.Linear layers; additive attention's score vector is not
    one, so a quantized Bahdanau model still decodes (it failed: `energy.weight` became a
    method) and stays close to the float model."""
    torch.manual_seed(0)
    model = build_seq2seq(tiny_config(attention="bahdanau"), VOCAB, VOCAB).eval()
    quantized = quantize_dynamic_int8(model, torch.device("cpu"))
    src, src_lengths = padded_batch([4, 6, 1])
    tgt_in, _ = padded_batch([5, 5, 5], seed=1)
    step = quantized.decode_step(tgt_in[:, 0], quantized.encode(src, src_lengths))
    float_step = model.decode_step(tgt_in[:, 0], model.encode(src, src_lengths))
    torch.testing.assert_close(step.log_probs.exp(), float_step.log_probs.exp(), atol=0.05, rtol=0)
    assert torch.all(step.attention[2, 1:] == 0)


def test_fed_lstm_under_bf16_autocast_keeps_its_cell_in_fp32_and_stays_close():
    """Under bf16 autocast the step products run in bfloat16 but the cell, a sum over all steps,
    stays fp32; outputs and gradients stay near the fp32 computation."""
    torch.manual_seed(0)
    rnn = build_rnn("lstm", 16 + 8, 32)
    known, fed = torch.randn(4, 10, 16), torch.randn(4, 10, 8)
    state = (torch.randn(1, 4, 32) * 0.5, torch.randn(1, 4, 32) * 0.5)
    runs = []
    for autocast in (False, True):
        rnn.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            # Under autocast the initial state comes out of the bridge's Linear in bfloat16.
            start = tuple(s.to(torch.bfloat16) for s in state) if autocast else state
            lstm = FedLSTM(rnn, known, start)
            outputs = torch.stack([lstm.step(t, fed[:, t]) for t in range(10)], 1)
        outputs.float().square().sum().backward()
        runs.append((outputs.float(), lstm.cell[-1], [p.grad.clone() for p in rnn.parameters()]))
    (outputs, cell, grads), (bf16_outputs, bf16_cell, bf16_grads) = runs
    assert bf16_cell.dtype == torch.float32
    torch.testing.assert_close(bf16_outputs, outputs, atol=0.03, rtol=0)
    torch.testing.assert_close(bf16_cell, cell, atol=0.05, rtol=0)
    for bf16_grad, grad in zip(bf16_grads, grads):
        assert torch.linalg.norm(bf16_grad - grad) <= 0.05 * torch.linalg.norm(grad)


@pytest.mark.parametrize("variant", VARIANTS[:3] + VARIANTS[5:6], ids=str)
def test_sentence_alone_equals_sentence_in_padded_batch(variant):
    torch.manual_seed(0)
    model = build_seq2seq(tiny_config(**variant), VOCAB, VOCAB).eval()
    src, src_lengths = padded_batch([3, 7])
    tgt_in, _ = padded_batch([4, 4], seed=2)
    batched = model(src, src_lengths, tgt_in)
    alone = model(src[:1, :3], src_lengths[:1], tgt_in[:1])
    torch.testing.assert_close(batched[:1], alone)


def test_reorder_selects_every_tensor_along_the_batch():
    model = build_seq2seq(tiny_config(attention="bahdanau"), VOCAB, VOCAB).eval()
    src, src_lengths = padded_batch([3, 5, 2])
    state = model.encode(src, src_lengths)
    index = torch.tensor([2, 2, 0])
    picked = model.reorder(state, index)
    for before, after in zip(state, picked):
        if isinstance(before, torch.Tensor):
            torch.testing.assert_close(after, before[index])


def test_tied_embeddings_share_one_parameter():
    model = build_seq2seq(tiny_config(tie_embeddings=True), VOCAB, VOCAB)
    assert model.generator.weight is model.decoder.embedding.weight


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_weight_dropout_drops_recurrent_weights_in_training_only(cell):
    torch.manual_seed(0)
    rnn = build_rnn(cell, 6, 12, num_layers=2)
    inputs = torch.randn(3, 7, 6)
    plain, _ = rnn(inputs)
    dropout = RecurrentWeightDropout(0.5)
    first, _ = dropout(rnn, inputs, None)
    second, _ = dropout(rnn, inputs, None)
    assert not torch.allclose(first, plain) and not torch.allclose(first, second)
    first.sum().backward()
    for layer in range(2):  # every recurrent weight learns, through the dropped copy
        grad = getattr(rnn, f"weight_hh_l{layer}").grad
        zero_share = float((grad == 0).float().mean())
        assert 0.2 < zero_share < 0.8, "about half the entries were dropped, so get no gradient"
    # Afterwards the layer holds its own weights again, and outside training nothing is dropped.
    assert all(w is getattr(rnn, n) for n, w in zip(rnn._flat_weights_names, rnn._flat_weights))
    dropout.eval()
    assert torch.equal(dropout(rnn, inputs, None)[0], plain)
    assert torch.equal(RecurrentWeightDropout(0.0)(rnn, inputs, None)[0], plain)
    with pytest.raises(ValueError, match="weight dropout"):
        RecurrentWeightDropout(1.0)


@pytest.mark.parametrize("variant", [
    dict(attention="luong", input_feeding=False),
    dict(attention="bahdanau", input_feeding=True),  # the hand-written loop (fused_input_feeding)
    dict(attention="luong", input_feeding=True, decoder_layers=2),  # FedLSTM
    dict(attention="luong", input_feeding=True, custom_kernels=False),  # the plain step loop
    dict(attention="none", cell="gru", encoder_layers=2, decoder_layers=2),
])  # fmt: skip
def test_translator_weight_dropout_drops_encoder_and_decoder_weights_in_training_only(variant):
    src, src_lengths = padded_batch([5, 3])
    tgt_in, _ = padded_batch([4, 6], seed=1)
    tgt_in[:, 0] = BOS_ID
    positions = tgt_in != PAD_ID
    args = (src, src_lengths, tgt_in, positions)
    torch.manual_seed(0)
    plain = build_seq2seq(tiny_config(**variant), VOCAB, VOCAB)
    torch.manual_seed(0)
    dropping = build_seq2seq(tiny_config(**variant, weight_dropout=0.5), VOCAB, VOCAB)
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), dropping.parameters()))
    assert plain.state_dict().keys() == dropping.state_dict().keys()
    torch.manual_seed(1)
    trained = dropping.target_distributions(*args).log_probs
    assert not torch.allclose(trained, plain.target_distributions(*args).log_probs)
    trained.sum().backward()
    for rnn in (dropping.encoder.rnn, dropping.decoder.rnn):
        assert all(w is getattr(rnn, n) for n, w in zip(rnn._flat_weights_names, rnn._flat_weights))
        for name, weight in rnn.named_parameters():
            if name.startswith("weight_hh"):
                # One draw for the whole batch, through every input-feeding loop: about half
                # the entries get no gradient at all.
                zero_share = float((weight.grad == 0).float().mean())
                assert 0.3 < zero_share < 0.7, (name, zero_share)
    dropping.eval()
    plain.eval()
    torch.testing.assert_close(
        dropping.target_distributions(*args).log_probs,
        plain.target_distributions(*args).log_probs,
    )


def test_word_dropout_replaces_real_tokens_by_unk_in_training_only():
    torch.manual_seed(0)
    ids = torch.tensor([[BOS_ID, *range(4, 404), EOS_ID, PAD_ID, PAD_ID]])
    dropout = TokenDropout(0.3, kept_ids=(PAD_ID, BOS_ID, EOS_ID))
    dropped = dropout(ids)
    changed = dropped != ids
    assert torch.all(dropped[changed] == UNK_ID)
    assert not changed[0, [0, 401, 402, 403]].any(), "<s>, </s> and padding are kept"
    assert 0.2 < float(changed[0, 1:401].float().mean()) < 0.4
    assert not torch.equal(dropout(ids), dropped), "every call draws again"
    dropout.eval()
    assert dropout(ids) is ids
    with pytest.raises(ValueError, match="word dropout"):
        TokenDropout(1.0)


def test_word_dropout_changes_the_translators_training_loss_but_not_evaluation():
    src, src_lengths = padded_batch([5, 3])
    tgt_in, _ = padded_batch([4, 6], seed=1)
    tgt_in[:, 0] = BOS_ID
    positions = tgt_in != PAD_ID
    args = (src, src_lengths, tgt_in, positions)
    config = dict(attention="luong", input_feeding=False)
    torch.manual_seed(0)
    plain = build_seq2seq(tiny_config(**config), VOCAB, VOCAB)
    torch.manual_seed(0)
    dropping = build_seq2seq(tiny_config(**config, word_dropout=0.5), VOCAB, VOCAB)
    # No parameters of its own: the same weights, so checkpoints load either way.
    assert plain.state_dict().keys() == dropping.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), dropping.parameters()))
    torch.manual_seed(1)
    trained = dropping.target_distributions(*args).log_probs
    assert not torch.allclose(trained, plain.target_distributions(*args).log_probs)
    dropping.eval()
    plain.eval()
    torch.testing.assert_close(
        dropping.target_distributions(*args).log_probs,
        plain.target_distributions(*args).log_probs,
    )
