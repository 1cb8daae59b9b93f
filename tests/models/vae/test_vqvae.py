import keras
import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.models import VQVAE
from artifex_keras.models import VQVAEConfig
from artifex_keras.samplers import GreedySampler
from artifex_keras.samplers import Sampler
from artifex_keras.samplers import TopKSampler
from artifex_keras.samplers import TopPSampler
from tests.checks import digits
from tests.checks import run_model_checks

TINY = dict(
    input_shape=(8, 8, 1),
    hidden_dims=(8, 16),
    num_embeddings=8,
    embedding_dim=4,
    prior_filters=8,
    prior_layers=2,
    seed=0,
)


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def set_prior_output(model, bias, kernel_scale=0.0):
    """Make the prior's logits `bias` (+ scaled context terms) at every position."""
    head = model.prior.layers[-1].output_logits
    head.kernel.assign(numpy(head.kernel) * kernel_scale)
    head.bias.assign(np.asarray(bias, "float32"))


@pytest.mark.slow
def test_vqvae_model_checks(tmp_path):
    model = run_model_checks(VQVAE, TINY, digits(), tmp_path=tmp_path)
    assert "vqvae" in ak.list_models()
    assert any(v is model.quantizer.embeddings for v in model.trainable_variables)


def test_ema_codebook_moves_without_gradients(tmp_path):
    x = digits(128)
    model = VQVAE(**dict(TINY, ema=True, ema_decay=0.9))
    embeddings = model.quantizer.embeddings
    assert all(v is not embeddings for v in model.trainable_variables)
    assert any(v is embeddings for v in model.non_trainable_variables)
    before = numpy(embeddings).copy()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    logs = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    np.testing.assert_array_equal(numpy(embeddings), before)
    model.fit(x, epochs=2, batch_size=64, verbose=0)
    assert np.abs(numpy(embeddings) - before).max() > 1e-3
    assert 1.0 <= logs["perplexity"] <= TINY["num_embeddings"]
    assert np.isfinite(model.evaluate(x, batch_size=64, verbose=0, return_dict=True)["loss"])
    # The moving averages are saved with the weights.
    model.save(str(tmp_path / "ema.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "ema.keras"))
    for name in ("embeddings", "ema_cluster_size", "ema_embedding_sum"):
        np.testing.assert_allclose(numpy(getattr(loaded.quantizer, name)), numpy(getattr(model.quantizer, name)))


def test_logs_perplexity_in_range_and_elbo_matches_evaluate():
    x = digits(64)
    model = VQVAE(**TINY)
    model.compile()
    logs = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    assert 1.0 <= logs["perplexity"] <= TINY["num_embeddings"]
    elbo = model.elbo(x)
    assert elbo.shape == (64,) and np.all(np.isfinite(elbo)) and np.all(elbo < 0)
    # -ELBO = reconstruction NLL + prior NLL of the codes (KL of a one-hot q).
    np.testing.assert_allclose(-elbo.mean(), logs["reconstruction"] + logs["prior_nll"], rtol=1e-4)


def test_encode_decode_reconstruct_shapes():
    x = digits(32)
    model = VQVAE(**TINY)
    codes = model.encode(x)
    assert codes.shape == (32, 2, 2) and codes.dtype == np.int32
    assert codes.min() >= 0 and codes.max() < TINY["num_embeddings"]
    images = model.decode(codes)
    assert images.shape == (32, 8, 8, 1) and images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_allclose(model.reconstruct(x), images, atol=1e-6)
    np.testing.assert_allclose(numpy(model(x)), images, atol=1e-6)


def test_prior_is_causal_over_the_code_grid():
    model = VQVAE(**dict(TINY, input_shape=(12, 12, 1)))
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 8, size=(1, 3, 3)).astype("int32")
    base = numpy(model.prior_logits(codes))[0].reshape(9, -1)
    for position in range(9):
        changed = codes.copy()
        changed[0, position // 3, position % 3] = (codes[0, position // 3, position % 3] + 1) % 8
        moved = np.abs(numpy(model.prior_logits(changed))[0].reshape(9, -1) - base).max(-1) > 1e-6
        assert not np.any(moved[: position + 1]), position


def test_sampling_follows_a_dominant_prior_code():
    model = VQVAE(**TINY)
    bias = np.zeros(8)
    bias[5] = 50.0
    set_prior_output(model, bias)
    codes = numpy(model.sample_codes(3, keras.random.SeedGenerator(0)))
    np.testing.assert_array_equal(codes, np.full((3, 2, 2), 5))
    np.testing.assert_allclose(model.generate(3, seed=1), model.decode(np.full((3, 2, 2), 5)), atol=1e-6)


def test_sample_frequencies_match_the_prior_softmax():
    model = VQVAE(**TINY)
    probs = np.array([0.5, 0.3, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0])
    set_prior_output(model, np.log(np.maximum(probs, 1e-12)))
    codes = numpy(model.sample_codes(1000, keras.random.SeedGenerator(3)))
    frequencies = np.bincount(codes.reshape(-1), minlength=8) / codes.size
    np.testing.assert_allclose(frequencies, probs, atol=0.03)


def test_samplers_shape_the_prior_draws():
    model = VQVAE(**TINY)
    probs = np.array([0.5, 0.3, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0])
    set_prior_output(model, np.log(np.maximum(probs, 1e-12)))

    def codes(sampler):
        return numpy(model.sample_codes(1000, keras.random.SeedGenerator(3), sampler)).reshape(-1)

    renormalised = np.array([0.625, 0.375, 0, 0, 0, 0, 0, 0])
    for sampler in (TopKSampler(k=2), TopPSampler(p=0.6)):
        np.testing.assert_allclose(np.bincount(codes(sampler), minlength=8) / 4000, renormalised, atol=0.03)
    np.testing.assert_array_equal(codes(GreedySampler()), 0)
    # Through generate: greedy draws are the same whatever the seed.
    greedy = model.generate(3, seed=1, sampler="greedy")
    np.testing.assert_array_equal(model.generate(3, seed=2, sampler="greedy"), greedy)


def test_samplers_are_checked_against_the_model():
    model = VQVAE(**TINY)
    with pytest.raises(ValueError, match=r"VQVAE.generate: TopKSampler `k` must be at most the number of categories "
                                         r"\(8\), got 9"):  # fmt: skip
        model.generate(2, sampler=TopKSampler(k=9))

    class Other(Sampler):
        pass

    with pytest.raises(ValueError, match="VQVAE.generate: `sampler` must be a TokenSampler for VQVAE, got Other()"):
        model.generate(2, sampler=Other())
    with pytest.raises(ValueError, match="VQVAE.generate: `sampler` is not a sampler: samplers.get: unknown sampler"):
        model.generate(2, sampler="nucleus")


def test_sampling_is_autoregressive_in_raster_order():
    # Scaled-up logits make each draw the prior's argmax wherever the top two
    # logits differ by more than any Gumbel noise difference (about 21 in
    # float32): those codes must be the argmax given the codes drawn before
    # them, which a sampler that ignored its own earlier draws would not give.
    model = VQVAE(**dict(TINY, input_shape=(12, 12, 1)))
    set_prior_output(model, np.random.default_rng(0).normal(size=8) * 1e4, kernel_scale=1e4)
    codes = numpy(model.sample_codes(4, keras.random.SeedGenerator(0)))
    logits = numpy(model.prior_logits(codes))
    top2 = np.sort(logits, axis=-1)[..., -2:]
    decided = top2[..., 1] - top2[..., 0] > 25.0
    assert decided.mean() > 0.8
    np.testing.assert_array_equal(codes[decided], logits.argmax(-1)[decided])
    from_zeros = numpy(model.prior_logits(np.zeros_like(codes)))
    assert np.abs(from_zeros - logits).max() > 1.0, "prior ignores its context"


def test_gaussian_likelihood_trains_on_unbounded_data():
    x = digits(64) * 2.0 - 0.5
    model = VQVAE(**dict(TINY, likelihood="gaussian"))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)["loss"]
    model.fit(x, epochs=4, batch_size=32, verbose=0)
    after = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after) and after < before
    assert model.data_range is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("num_embeddings", 0, "`num_embeddings` must be a positive int, got 0"),
        ("embedding_dim", -1, "`embedding_dim` must be a positive int, got -1"),
        ("hidden_dims", (), "`hidden_dims` must be a tuple of positive ints, got ()"),
        ("commitment_cost", -0.5, "`commitment_cost` must be a finite number in [0"),
        ("ema", "yes", "`ema` must be a bool, got 'yes'"),
        ("ema_decay", 1.0, "`ema_decay` must be a finite number in [0.0, 1.0), got 1.0"),
        ("likelihood", "poisson", "`likelihood` must be one of 'bernoulli', 'gaussian'"),
        ("prior_filters", 0, "`prior_filters` must be a positive int, got 0"),
        ("prior_layers", 0, "`prior_layers` must be a positive int, got 0"),
        ("prior_kernel_size", 4, "`prior_kernel_size` must be an odd int of at least 3, got 4"),
        ("seed", -1, "`seed` must be a non-negative int, got -1"),
    ],
)
def test_bad_config_values_name_the_field(field, value, message):
    escaped = message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match="VQVAEConfig: " + escaped):
        VQVAE(**dict(TINY, **{field: value}))


def test_input_shape_must_divide_by_the_downsampling():
    with pytest.raises(ValueError, match=r"VQVAEConfig: `input_shape` .* divisible by 4"):
        VQVAEConfig(input_shape=(10, 10, 1), hidden_dims=(8, 16))


def test_bad_data_and_codes_are_reported():
    model = VQVAE(**TINY)
    x = digits(16)
    with pytest.raises(ValueError, match=r"VQVAE.fit: `x` must lie in \[0.0, 1.0\]"):
        model.fit(x * 255.0, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"VQVAE.encode: `x` must have shape \(batch, 8, 8, 1\)"):
        model.encode(x.reshape(16, 64))
    with pytest.raises(ValueError, match=r"VQVAE.decode: `indices` must have shape \(batch, 2, 2\), got shape"):
        model.decode(np.zeros((3, 4), "int32"))
    with pytest.raises(ValueError, match="VQVAE.decode: `indices` must hold integer code ids, got dtype float32"):
        model.decode(np.zeros((3, 2, 2), "float32"))
    with pytest.raises(ValueError, match=r"VQVAE.decode: `indices` must lie in \[0, 7\], got values in \[0, 8\]"):
        model.decode(np.array([[[0, 8], [1, 2]]]))
