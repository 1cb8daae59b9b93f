import keras
import numpy as np
import pytest

from artifex_keras.layers import GatedPixelCNN


def numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("kernel_size, num_layers", [(3, 3), (5, 2)])
def test_logits_depend_only_on_earlier_positions_and_on_all_of_them_within_reach(kernel_size, num_layers):
    # Raster order: the input at (i, j) may move only the logits of later positions, never its own or earlier ones.
    keras.utils.set_random_seed(0)
    height, width = 5, 6
    network = GatedPixelCNN(categories=4, filters=8, num_layers=num_layers, kernel_size=kernel_size)
    network.build((None, height, width, 2))
    for weight in network.trainable_weights:
        weight.assign(np.random.default_rng(len(weight.path)).normal(0.0, 0.3, weight.shape))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, height, width, 2)).astype("float32")
    # One batch: the input, then the input with one position perturbed, for every position.
    perturbed = np.repeat(x, height * width + 1, axis=0)
    for index in range(height * width):
        perturbed[1 + index, index // width, index % width] += 1.0
    logits = numpy(network(perturbed))
    assert logits.shape == (height * width + 1, height, width, 4)
    base = logits[0]
    for i in range(height):
        for j in range(width):
            moved = np.abs(logits[1 + i * width + j] - base).max(-1) > 1e-6
            not_after = np.zeros((height, width), bool)  # positions at or before (i, j)
            not_after[:i] = True
            not_after[i, : j + 1] = True
            assert not moved[not_after].any(), (i, j)
            # The next position in the row and the one below always see (i, j): no blind spot there.
            if j + 1 < width:
                assert moved[i, j + 1]
            if i + 1 < height:
                assert moved[i + 1, j]


def test_condition_shifts_the_logits_and_config_round_trips():
    network = GatedPixelCNN(categories=3, filters=4, num_layers=2, kernel_size=3, num_classes=5)
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 1)).astype("float32")
    condition = np.eye(5, dtype="float32")[[1, 3]]
    network.build(x.shape)
    for weight in network.trainable_weights:
        weight.assign(np.random.default_rng(7).normal(0.0, 0.3, weight.shape))
    out = numpy(network(x, condition))
    other = numpy(network(x, np.eye(5, dtype="float32")[[2, 2]]))
    assert np.abs(out - other).max() > 1e-3
    clone = GatedPixelCNN.from_config(network.get_config())
    clone.build(x.shape)
    clone.set_weights(network.get_weights())
    np.testing.assert_allclose(numpy(clone(x, condition)), out, rtol=1e-6, atol=1e-6)
