import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.layers import MaskedConv2D
from tests.checks.layers import check_layer

SIZE = 5


def outputs(layer, x):
    return ops.convert_to_numpy(layer(x))


def dependence(layer, channels=2):
    """`changed[p, q]`: output at raster position q moves when input at p is perturbed."""
    x = np.random.default_rng(0).normal(size=(1, SIZE, SIZE, channels)).astype("float32")
    base = outputs(layer, x)
    changed = np.zeros((SIZE * SIZE, SIZE * SIZE), dtype=bool)
    for p in range(SIZE * SIZE):
        bumped = x.copy()
        bumped[0, p // SIZE, p % SIZE] += 1.0
        changed[p] = np.abs(outputs(layer, bumped) - base)[0].max(-1).reshape(-1) > 1e-6
    return changed


def test_mask_a_output_ignores_inputs_at_or_after_it():
    changed = dependence(MaskedConv2D(3, 3, mask_type="A"))
    # Input p may only affect outputs strictly after it in raster order.
    assert not np.any(np.tril(changed))
    # ... and it does reach its right and lower neighbours.
    assert changed[SIZE + 1, SIZE + 2] and changed[SIZE + 1, 2 * SIZE + 1]


def test_mask_b_adds_only_the_centre():
    changed = dependence(MaskedConv2D(3, 3, mask_type="B"))
    assert not np.any(np.tril(changed, k=-1))
    assert np.all(np.diag(changed))


def test_stacked_layers_stay_causal():
    stack = keras.Sequential(
        [keras.Input((SIZE, SIZE, 2)), MaskedConv2D(4, 5, mask_type="A", activation="relu"), MaskedConv2D(3, 3)]
    )
    assert not np.any(np.tril(dependence(stack)))


def test_same_padding_and_activation():
    layer = MaskedConv2D(7, (3, 5), mask_type="B", activation="relu")
    y = outputs(layer, np.random.default_rng(1).normal(size=(2, 4, 6, 3)).astype("float32"))
    assert y.shape == (2, 4, 6, 7)
    assert y.min() >= 0.0


def test_layer_checks(tmp_path):
    layer = MaskedConv2D(4, 3, mask_type="A", activation="relu", use_bias=False, name="masked")
    x = np.random.default_rng(2).normal(size=(1, SIZE, SIZE, 2)).astype("float32")
    check_layer(layer, x, expected_output_shape=(1, SIZE, SIZE, 4), tmp_path=tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(filters=0), "`filters` must be a positive int, got 0"),
        (dict(kernel_size=4), "`kernel_size` must be an odd positive int or a pair of them, got 4"),
        (dict(kernel_size=(3, 3, 3)), "`kernel_size` must be an odd positive int or a pair of them"),
        (dict(mask_type="C"), "`mask_type` must be one of 'A', 'B', got 'C'"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=r"MaskedConv2D: " + message.replace("(", r"\(").replace(")", r"\)")):
        MaskedConv2D(**{"filters": 2, "kernel_size": 3, **kwargs})
