import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.backend import input_gradient
from artifex_keras.layers import VectorQuantizer
from tests.checks.layers import check_layer

CODEBOOK = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], dtype="float32")


def quantizer(**kwargs):
    layer = VectorQuantizer(num_embeddings=4, embedding_dim=2, **kwargs)
    layer.build((None, 2))
    layer.embeddings.assign(CODEBOOK)
    if layer.ema:
        layer.ema_embedding_sum.assign(CODEBOOK)
    return layer


def numpy(tensor):
    return ops.convert_to_numpy(tensor)


def nearest(z):
    distances = ((z.reshape(-1, 1, 2) - CODEBOOK[None]) ** 2).sum(-1)
    return distances.argmin(-1).reshape(z.shape[:-1])


def test_layer_checks(tmp_path):
    z = np.random.default_rng(3).normal(size=(2, 3, 3, 2)).astype("float32")
    expected = {"quantized": (2, 3, 3, 2), "indices": (2, 3, 3), "loss": (), "perplexity": ()}
    check_layer(quantizer(ema=True), z, expected_output_shape=expected, tmp_path=tmp_path)


def test_quantizes_to_nearest_code():
    z = np.random.default_rng(0).normal(size=(3, 4, 5, 2)).astype("float32")
    out = quantizer()(z)
    indices = numpy(out["indices"])
    assert indices.shape == (3, 4, 5) and indices.dtype == np.int32
    np.testing.assert_array_equal(indices, nearest(z))
    np.testing.assert_allclose(numpy(out["quantized"]), CODEBOOK[indices], atol=1e-6)


@pytest.mark.parametrize("ema", [False, True])
def test_loss_is_codebook_plus_commitment(ema):
    z = np.random.default_rng(1).normal(size=(6, 2)).astype("float32")
    out = quantizer(commitment_cost=0.25, ema=ema)(z)
    error = np.mean((z - CODEBOOK[nearest(z)]) ** 2)
    np.testing.assert_allclose(float(numpy(out["loss"])), (0.25 if ema else 1.25) * error, rtol=1e-5)


def test_straight_through_gradient_is_identity():
    layer = quantizer()
    z = ops.convert_to_tensor(np.random.default_rng(2).normal(size=(4, 3, 2)).astype("float32"))
    grad = numpy(input_gradient(lambda inputs: layer(inputs)["quantized"], z))
    np.testing.assert_allclose(grad, np.ones((4, 3, 2)), atol=1e-6)


def test_only_the_commitment_term_reaches_the_input():
    layer = quantizer(commitment_cost=0.25)
    values = np.random.default_rng(3).normal(size=(5, 2)).astype("float32")
    grad = numpy(input_gradient(lambda inputs: layer(inputs)["loss"], ops.convert_to_tensor(values)))
    expected = 0.25 * 2.0 * (values - CODEBOOK[nearest(values)]) / values.size
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)


def test_perplexity_counts_codes_in_use():
    layer = quantizer()
    assert float(numpy(layer(np.repeat(CODEBOOK[1:2], 8, axis=0))["perplexity"])) == pytest.approx(1.0, abs=1e-4)
    assert float(numpy(layer(np.tile(CODEBOOK, (3, 1)))["perplexity"])) == pytest.approx(4.0, rel=1e-4)
    mixed = np.concatenate([np.tile(CODEBOOK[:2], (3, 1)), CODEBOOK[2:3]])
    assert 1.0 < float(numpy(layer(mixed)["perplexity"])) < 4.0


def test_ema_updates_codebook_in_training_only():
    layer = quantizer(ema=True, ema_decay=0.9, epsilon=1e-5)
    assert layer.trainable_weights == []
    assert {w.name for w in layer.non_trainable_weights} == {"embeddings", "ema_cluster_size", "ema_embedding_sum"}
    z = np.array([[0.9, 0.1], [1.1, -0.1], [0.2, 1.2], [-0.1, 0.1]], dtype="float32")
    layer(z, training=False)
    np.testing.assert_allclose(numpy(layer.embeddings), CODEBOOK)
    layer(z, training=True)

    # Appendix A.1 eqs. 6-8 with Laplace-smoothed cluster sizes.
    one_hot = np.eye(4)[nearest(z)]
    sizes = 0.9 * np.ones(4) + 0.1 * one_hot.sum(0)
    sums = 0.9 * CODEBOOK + 0.1 * one_hot.T @ z
    smoothed = (sizes + 1e-5) / (sizes.sum() + 4e-5) * sizes.sum()
    np.testing.assert_allclose(numpy(layer.ema_cluster_size), sizes, rtol=1e-5)
    np.testing.assert_allclose(numpy(layer.ema_embedding_sum), sums, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(layer.embeddings), sums / smoothed[:, None], rtol=1e-5, atol=1e-6)


def test_ema_starts_consistent_with_its_averages():
    layer = VectorQuantizer(num_embeddings=5, embedding_dim=3, ema=True)
    layer.build((None, 3))
    np.testing.assert_allclose(numpy(layer.ema_embedding_sum), numpy(layer.embeddings))
    np.testing.assert_allclose(numpy(layer.ema_cluster_size), np.ones(5))


def test_lookup_returns_codebook_rows():
    codes = np.array([[3, 0], [1, 2]], dtype="int32")
    np.testing.assert_allclose(numpy(quantizer().lookup(codes)), CODEBOOK[codes])


def test_get_config_round_trip():
    layer = VectorQuantizer(16, 8, commitment_cost=0.5, ema=True, ema_decay=0.95, epsilon=1e-4, name="vq")
    config = layer.get_config()
    again = VectorQuantizer.from_config(config)
    assert again.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is VectorQuantizer and restored.get_config() == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_embeddings=0), "`num_embeddings` must be a positive int, got 0"),
        (dict(embedding_dim=2.5), "`embedding_dim` must be a positive int, got 2.5"),
        (dict(commitment_cost=-1.0), "`commitment_cost` must be a finite number >= 0, got -1.0"),
        (dict(ema="yes"), "`ema` must be a bool, got 'yes'"),
        (dict(ema_decay=1.0), r"`ema_decay` must be a number in \[0, 1\), got 1.0"),
        (dict(epsilon=0.0), "`epsilon` must be a positive number, got 0.0"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match="VectorQuantizer: " + message):
        VectorQuantizer(**{"num_embeddings": 4, "embedding_dim": 2, **kwargs})


def test_input_width_must_match_embedding_dim():
    with pytest.raises(ValueError, match="embedding_dim=2, got input shape"):
        VectorQuantizer(4, 2)(np.zeros((3, 5), "float32"))
