import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.layers import SpectralNormalization
from tests.checks.layers import check_layer


def numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor))


def largest_singular_value(matrix):
    return np.linalg.svd(np.asarray(matrix, dtype="float64"), compute_uv=False)[0]


def iterate(layer, inputs, steps):
    for _ in range(steps):
        layer(inputs, training=True)


def with_singular_values(shape, values, seed):
    """A random matrix of `shape` with the given singular values (a clear gap, so power iteration converges fast)."""
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.standard_normal((shape[0], shape[0])))
    right, _ = np.linalg.qr(rng.standard_normal((shape[1], shape[1])))
    diagonal = np.zeros(shape)
    diagonal[np.arange(len(values)), np.arange(len(values))] = values
    return (left @ diagonal @ right.T).astype("float32")


@pytest.mark.parametrize(
    "make_layer, inputs, variable",
    [
        (lambda: keras.layers.Dense(5), np.ones((2, 7), "float32"), "kernel"),
        (lambda: keras.layers.Conv2D(4, 3), np.ones((2, 6, 6, 3), "float32"), "kernel"),
        (lambda: keras.layers.Embedding(6, 3), np.array([0, 5], "int32"), "embeddings"),
    ],
    ids=["dense", "conv2d", "embedding"],
)
def test_estimate_matches_the_largest_singular_value(make_layer, inputs, variable):
    layer = SpectralNormalization(make_layer())
    layer(inputs)
    weight = getattr(layer.layer, variable)
    shape = tuple(weight.shape)
    matrix_shape = (int(np.prod(shape[:-1])), shape[-1])
    matrix = with_singular_values(matrix_shape, [2.5, 1.0, 0.7], seed=0)
    weight.assign(matrix.reshape(shape))
    sigma = largest_singular_value(matrix)
    iterate(layer, inputs, 12)
    np.testing.assert_allclose(numpy(layer.spectral_norm()), sigma, rtol=2e-6)
    normalized = numpy(layer.normalized_kernel()).reshape(matrix_shape)
    np.testing.assert_allclose(largest_singular_value(normalized), 1.0, rtol=2e-6)


def test_estimate_converges_on_a_random_kernel():
    keras.utils.set_random_seed(1)
    layer = SpectralNormalization(keras.layers.Dense(4), power_iterations=40)
    x = np.ones((2, 6), "float32")
    layer(x, training=True)
    sigma = largest_singular_value(numpy(layer.layer.kernel))
    np.testing.assert_allclose(numpy(layer.spectral_norm()), sigma, rtol=1e-4)


def test_dense_output_and_training_only_iteration():
    keras.utils.set_random_seed(2)
    layer = SpectralNormalization(keras.layers.Dense(3, activation="tanh"), power_iterations=2)
    x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
    layer(x)
    u = numpy(layer.u).copy()
    inference = numpy(layer(x))
    np.testing.assert_array_equal(numpy(layer.u), u)
    kernel, bias = numpy(layer.layer.kernel), numpy(layer.layer.bias)
    # One power-iteration estimate from the stored u, as the layer computes it.
    v = u @ kernel.T
    v /= np.linalg.norm(v)
    sigma = ((v @ kernel) @ u.T).item()
    np.testing.assert_allclose(inference, np.tanh(x @ (kernel / sigma) + bias), rtol=1e-5, atol=1e-6)
    layer(x, training=True)
    assert not np.array_equal(numpy(layer.u), u)
    assert [w.name for w in layer.trainable_weights] == ["kernel", "bias"]
    assert [w.name for w in layer.non_trainable_weights] == ["u"]


def test_conv_output_matches_the_wrapped_layer_with_the_normalized_kernel():
    keras.utils.set_random_seed(3)
    conv = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")
    layer = SpectralNormalization(conv)
    x = np.random.default_rng(1).standard_normal((2, 8, 8, 3)).astype("float32")
    outputs = numpy(layer(x, training=True))
    reference = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")
    reference.build(x.shape)
    reference.set_weights([numpy(layer.normalized_kernel()), numpy(conv.bias)])
    np.testing.assert_allclose(outputs, numpy(reference(x)), rtol=1e-5, atol=1e-5)


def test_no_gradient_reaches_u_and_serialization_round_trip(tmp_path):
    layer = SpectralNormalization(keras.layers.Dense(3))
    x = np.ones((2, 4), "float32")
    check_layer(layer, x, expected_output_shape=(2, 3), tmp_path=tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(layer=keras.layers.LayerNormalization()), "`layer` must be a Dense, Conv2D, Embedding"),
        (dict(layer=keras.layers.Dense(2), power_iterations=0), "`power_iterations` must be a positive int"),
        (dict(layer=keras.layers.Dense(2), epsilon=0.0), "`epsilon` must be positive"),
        (dict(layer=keras.layers.Conv2D(4, 3, groups=2)), "grouped convolutions"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpectralNormalization(**kwargs)
