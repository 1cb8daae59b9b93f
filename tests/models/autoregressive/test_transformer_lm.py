"""TransformerLM: a NumPy forward pass, causality, cached vs uncached generation, likelihoods, saving, errors."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import artifex_keras as ak
from artifex_keras.models import TransformerLM
from artifex_keras.models import TransformerLMConfig
from artifex_keras.models.autoregressive.transformer_blocks import rotate
from artifex_keras.samplers import BeamSampler
from artifex_keras.samplers import TopKSampler
from artifex_keras.samplers import TopPSampler
from artifex_keras.tokenizers import CharacterTokenizer
from artifex_keras.tokenizers import serialize
from tests.checks import check_config_round_trip
from tests.checks import check_keras_round_trip
from tests.checks import check_loss_falls
from tests.checks import check_preset_round_trip
from tests.checks import check_resume
from tests.checks.training import numpy_values

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n" * 6
TOKENIZER = CharacterTokenizer.from_text(TEXT)
TINY = dict(
    tokenizer=serialize(TOKENIZER),
    context_length=16,
    embedding_dim=16,
    num_layers=2,
    num_heads=2,
    hidden_dim=32,
    seed=0,
)


# One prompt, length and batch everywhere: each compiled generation loop is traced once per model.
GENERATE = dict(prompt="ROMEO:", max_length=12)


def windows():
    """64 windows: one batch shape for every compiled step."""
    return ak.data.text_windows(TOKENIZER.encode(TEXT), 16, stride=5)[:64]


def numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


@pytest.fixture(scope="module")
def lm():
    return TransformerLM(**TINY)


def layer_norm(x, layer):
    mean = x.mean(-1, keepdims=True)
    variance = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + 1e-5) * numpy(layer.gamma) + numpy(layer.beta)


def numpy_rotate(x, positions, max_wavelength=10000.0):
    half = x.shape[-1] // 2
    angles = positions[:, None] * max_wavelength ** (-np.arange(half) * 2.0 / x.shape[-1])[None, :]
    cos, sin = np.cos(angles)[None, :, None, :], np.sin(angles)[None, :, None, :]
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)


def numpy_logits(model, ids):
    """The network in float64 NumPy from its weights: embedding, pre-norm blocks with rotary causal attention."""
    from scipy.special import erf

    x = numpy(model.token_embedding.embeddings)[ids]
    batch, length, _ = x.shape
    positions = np.arange(length, dtype=np.float64)
    for block in model.blocks:
        heads, size = block.num_heads, block.head_dim
        h = layer_norm(x, block.attention_norm)
        q, k, v = (
            (h @ numpy(dense.kernel)).reshape(batch, length, heads, size)
            for dense in (block.query, block.key, block.value)
        )
        q, k = numpy_rotate(q, positions), numpy_rotate(k, positions)
        scores = np.einsum("bthd,bshd->bhts", q, k) / math.sqrt(size)
        scores = np.where(np.tril(np.ones((length, length), bool)), scores, -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        attended = np.einsum("bhts,bshd->bthd", weights, v).reshape(batch, length, heads * size)
        x = x + attended @ numpy(block.attention_output.kernel) + numpy(block.attention_output.bias)
        h = layer_norm(x, block.mlp_norm) @ numpy(block.mlp_hidden.kernel) + numpy(block.mlp_hidden.bias)
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = x + h @ numpy(block.mlp_output.kernel) + numpy(block.mlp_output.bias)
    return layer_norm(x, model.final_norm) @ numpy(model.head.kernel) + numpy(model.head.bias)


def numpy_log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def test_transformer_lm_trains_and_saves(tmp_path):
    model = check_config_round_trip(TransformerLM, TINY)
    assert "transformer_lm" in ak.list_models()
    data = windows()
    check_loss_falls(model, data, epochs=6, learning_rate=1e-2)
    # `.keras` round trip (generation after loading is compared in the slow preset test).
    model.save(tmp_path / "lm.keras")
    loaded = keras.saving.load_model(tmp_path / "lm.keras")
    assert type(loaded) is TransformerLM and loaded.tokenizer == TOKENIZER
    np.testing.assert_allclose(numpy(loaded(data[:16])), numpy(model(data[:16])), atol=1e-6)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for got, want in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(ops.convert_to_numpy(got), ops.convert_to_numpy(want))
    # The preset carries the tokenizer: the restored model encodes, scores and decodes the same text.
    model.save_to_preset(tmp_path / "preset")
    restored = TransformerLM.from_preset(tmp_path / "preset")
    assert restored.get_config() == model.get_config() and restored.tokenizer == TOKENIZER
    np.testing.assert_allclose(numpy(restored(data[:16])), numpy(model(data[:16])), atol=1e-6)


@pytest.mark.slow
def test_transformer_lm_preset_and_resume(tmp_path):
    model = TransformerLM(**TINY)
    model.fit(windows(), epochs=1, batch_size=32, verbose=0)
    check_keras_round_trip(model, windows()[:16], tmp_path, GENERATE)
    check_preset_round_trip(model, tmp_path, GENERATE)
    check_resume(lambda: TransformerLM(**TINY), windows()[:32], tmp_path)


def test_logits_match_a_numpy_forward_pass(lm):
    ids = np.random.default_rng(0).integers(0, lm.vocabulary_size, (16, 16)).astype("int32")
    np.testing.assert_allclose(numpy(lm(ids)), numpy_logits(lm, ids), rtol=0, atol=2e-5)


def test_log_prob_is_the_cross_entropy_of_the_numpy_logits(lm):
    ids = windows()[:4]
    log_softmax = numpy_log_softmax(numpy_logits(lm, ids[:, :-1]))
    expected = np.take_along_axis(log_softmax, ids[:, 1:, None], -1)[..., 0].sum(-1)
    np.testing.assert_allclose(lm.log_prob(ids, batch_size=2), expected, rtol=1e-5)


def test_later_tokens_do_not_change_earlier_logits(lm):
    ids = windows()[:16]
    changed = ids.copy()
    changed[:, 7:] = (changed[:, 7:] + 3) % lm.vocabulary_size
    before, after = numpy(lm(ids)), numpy(lm(changed))
    np.testing.assert_array_equal(before[:, :7], after[:, :7])
    assert np.abs(before[:, 7:] - after[:, 7:]).max() > 1e-3


def test_rotary_scores_depend_only_on_the_distance():
    rng = np.random.default_rng(1)
    q, k = rng.normal(size=(2, 1, 1, 1, 8)).astype("float32")

    def score(p, s):
        rq = rotate(ops.convert_to_tensor(q), ops.convert_to_tensor([p]))
        rk = rotate(ops.convert_to_tensor(k), ops.convert_to_tensor([s]))
        return float(ops.sum(rq * rk))

    assert score(5, 2) == pytest.approx(score(13, 10), abs=1e-5)
    assert score(5, 2) != pytest.approx(score(5, 3), abs=1e-3)
    np.testing.assert_allclose(
        numpy(rotate(ops.convert_to_tensor(q), ops.convert_to_tensor([3]))),
        numpy_rotate(q.astype(np.float64), np.array([3.0])),
        atol=1e-6,
    )


def test_cached_generation_equals_uncached(lm):
    cached = lm.generate_ids(3, sampler="greedy", **GENERATE)
    np.testing.assert_array_equal(lm.generate_ids(3, sampler="greedy", use_cache=False, **GENERATE), cached)
    # Greedy decoding is the argmax of the NumPy forward pass at every step.
    for position in range(6, 12):
        np.testing.assert_array_equal(cached[:, position], numpy_logits(lm, cached[:, :position])[:, -1].argmax(-1))


def numpy_beam_search(model, prompt, beams, max_length):
    hypotheses = [(tuple(prompt), 0.0)]
    for _ in range(len(prompt), max_length):
        prefixes = np.array([tokens for tokens, _ in hypotheses])
        log_probs = numpy_log_softmax(numpy_logits(model, prefixes)[:, -1])
        extended = [
            (tokens + (t,), score + log_probs[i, t])
            for i, (tokens, score) in enumerate(hypotheses)
            for t in range(model.vocabulary_size)
        ]
        hypotheses = sorted(extended, key=lambda h: -h[1])[:beams]
    return np.array(hypotheses[0][0])


def test_beam_search_matches_a_numpy_beam_search(lm):
    found = lm.generate_ids(2, prompt=["ROMEO:", "But so"], max_length=12, sampler=BeamSampler(num_beams=3))
    for row, prompt in zip(found, ["ROMEO:", "But so"]):
        np.testing.assert_array_equal(row, numpy_beam_search(lm, TOKENIZER.encode(prompt), 3, 12))


@pytest.mark.slow
def test_cached_beam_search_equals_uncached(lm):
    kwargs = dict(sampler=BeamSampler(num_beams=3), **GENERATE)
    np.testing.assert_array_equal(lm.generate_ids(2, use_cache=False, **kwargs), lm.generate_ids(2, **kwargs))


@pytest.mark.slow
def test_cached_random_draws_equal_uncached(lm):
    for sampler in (TopKSampler(k=3), TopPSampler(p=0.8, temperature=1.5)):
        cached = lm.generate_ids(3, sampler=sampler, seed=3, **GENERATE)
        np.testing.assert_array_equal(lm.generate_ids(3, sampler=sampler, seed=3, use_cache=False, **GENERATE), cached)


def test_generate_returns_strings_that_continue_the_prompt(lm):
    sampler = TopPSampler(p=0.9)
    texts = lm.generate(3, sampler=sampler, seed=0, **GENERATE)
    assert isinstance(texts, list) and len(texts) == 3
    assert all(isinstance(t, str) and t.startswith("ROMEO:") and len(t) == 12 for t in texts)
    assert lm.generate(3, sampler=sampler, seed=0, **GENERATE) == texts
    assert lm.generate(3, sampler=sampler, seed=1, **GENERATE) != texts
    prompts = ["ROMEO:", "But so", "It is "]
    state = keras.ops.convert_to_numpy(lm.seed_generator.state).copy()
    first = lm.generate(3, prompt=prompts, max_length=12, sampler=sampler)
    assert [t[:6] for t in first] == prompts
    assert not np.array_equal(keras.ops.convert_to_numpy(lm.seed_generator.state), state)
    ids = np.stack([TOKENIZER.encode("ROMEO:")] * 3)
    drawn = lm.generate_ids(3, prompt=ids, max_length=12, sampler=sampler, seed=0)
    assert drawn.dtype == np.int32 and [TOKENIZER.decode(row) for row in drawn] == texts
    # Without a prompt, generation starts from one newline token (the condition spec's start).
    np.testing.assert_array_equal(lm.prompt_ids("test", None, 2), [[TOKENIZER.encode("\n")[0]]] * 2)


def test_compiled_generation_reads_new_weights(lm):
    kwargs = dict(sampler="greedy", **GENERATE)
    initial = lm.get_weights()
    before = lm.generate_ids(3, **kwargs)
    traces = lm.compiled_trace_counts()
    for variable, value in zip(lm.trainable_variables, numpy_values(lm.trainable_variables)):
        variable.assign(value * 1.5 + 0.05)
    # A large head bias on a token greedy decoding did not pick makes it win everywhere.
    favourite = (int(before[0, 6]) + 1) % lm.vocabulary_size
    lm.head.bias.assign(50.0 * np.eye(lm.vocabulary_size, dtype="float32")[favourite])
    after = lm.generate_ids(3, **kwargs)
    assert lm.compiled_trace_counts() == traces
    np.testing.assert_array_equal(after[:, 6:], favourite)
    np.testing.assert_array_equal(after[:, 6:], numpy_logits(lm, after[:, :11])[:, 5:].argmax(-1))
    lm.set_weights(initial)


def test_text_likelihoods(lm):
    ids = TOKENIZER.encode(TEXT[:40])
    # 40 tokens in windows of 16 overlapping by one: tokens 1-15 and 16-30 scored, then 31-39 in the last window.
    log_probs = numpy_log_softmax(numpy_logits(lm, np.stack([ids[:15], ids[15:30], ids[-16:-1]])))
    targets = np.stack([ids[1:16], ids[16:31], ids[-15:]])
    picked = np.take_along_axis(log_probs, targets[..., None], -1)[..., 0]
    expected = -(picked[0].sum() + picked[1].sum() + picked[2, -9:].sum())
    nats, tokens, characters = lm.text_nll(TEXT[:40], batch_size=2)
    assert (tokens, characters) == (39, 39)
    assert nats == pytest.approx(expected, rel=1e-5)
    assert lm.perplexity(TEXT[:40], batch_size=2) == pytest.approx(math.exp(nats / 39), rel=1e-6)
    assert lm.bits_per_character(TEXT[:40], batch_size=2) == pytest.approx(nats / math.log(2) / 39, rel=1e-6)


def test_bad_input_gets_clear_errors(lm):
    with pytest.raises(ValueError, match=r"`prompt` holds 20 tokens, more than the context of 16 tokens"):
        lm.generate(1, prompt="ROMEO: But soft, wha")
    with pytest.raises(ValueError, match=r"`max_length` must exceed the prompt's 6 tokens and be at most the context"):
        lm.generate(1, prompt="ROMEO:", max_length=17)
    with pytest.raises(ValueError, match=r"`prompt` cannot be tokenized: .*character 'Z' \(at position 0"):
        lm.generate(1, prompt="Zounds")
    with pytest.raises(ValueError, match=r"`p` must be a number in \(0, 1\], got 1.5"):
        lm.generate(1, sampler=TopPSampler(p=1.5))
    with pytest.raises(ValueError, match=r"`p` must be a number in \(0, 1\], got 0"):
        lm.generate(1, sampler={"class_name": "top_p", "config": {"p": 0}})
    with pytest.raises(ValueError, match=r"TopKSampler `k` must be at most the number of categories"):
        lm.generate(1, sampler=TopKSampler(k=100))
    with pytest.raises(ValueError, match=r"the strings of `prompt` must have the same number of tokens"):
        lm.generate(2, prompt=["It", "Jul"])
    with pytest.raises(ValueError, match=r"TransformerLM.fit: `x` must be integer token ids"):
        lm.fit(np.zeros((4, 16), "float32"))
    with pytest.raises(ValueError, match=r"`x` must hold sequences of 16 tokens, got shape \(4, 8\)"):
        lm.fit(np.zeros((4, 8), "int32"))
    with pytest.raises(ValueError, match=r"`ids` ids must lie in \[0, 30\]"):
        lm.log_prob(np.full((1, 4), 99))
    with pytest.raises(ValueError, match=r"text_nll: `text` cannot be tokenized"):
        lm.bits_per_character("Zounds")
    with pytest.raises(ValueError, match=r"`embedding_dim` must be a multiple of 2 \* `num_heads`"):
        TransformerLMConfig(embedding_dim=12, num_heads=4)
    with pytest.raises(ValueError, match=r"`tokenizer` is not a tokenizer: .*unknown tokenizer 'chars'"):
        TransformerLM(tokenizer="chars")
