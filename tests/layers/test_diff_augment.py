import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.backend import input_gradient
from artifex_keras.layers import DiffAugment

IMAGES = np.random.default_rng(0).uniform(size=(3, 8, 8, 2)).astype("float32")


def numpy(tensor):
    return np.asarray(ops.convert_to_numpy(ops.stop_gradient(tensor)))


def numpy_translate(x, dy, dx):
    out = np.zeros_like(x)
    height, width = x.shape[:2]
    for i in range(height):
        for j in range(width):
            if 0 <= i - dy < height and 0 <= j - dx < width:
                out[i, j] = x[i - dy, j - dx]
    return out


def numpy_cutout(x, cy, cx, size):
    out = x.copy()
    top, left = cy - size // 2, cx - size // 2
    out[max(top, 0) : max(top + size, 0), max(left, 0) : max(left + size, 0)] = 0.0
    return out


def test_translation_and_cutout_match_numpy():
    layer = DiffAugment(("translation", "cutout"))
    params = {
        "shift_y": np.array([1, -1, 0], "int32"),
        "shift_x": np.array([-1, 0, 1], "int32"),
        "cutout_y": np.array([0, 4, 8], "int32"),
        "cutout_x": np.array([3, 8, 0], "int32"),
    }
    got = numpy(layer.augment(ops.convert_to_tensor(IMAGES), params))
    for b in range(3):
        shifted = numpy_translate(IMAGES[b], params["shift_y"][b], params["shift_x"][b])
        expected = numpy_cutout(shifted, params["cutout_y"][b], params["cutout_x"][b], 4)
        np.testing.assert_array_equal(got[b], expected)


def test_color_matches_its_closed_form():
    layer = DiffAugment(("color",))
    params = {
        "brightness": np.array([0.1, -0.3, 0.0], "float32"),
        "saturation": np.array([1.5, 0.0, 1.0], "float32"),
        "contrast": np.array([0.5, 1.2, 1.0], "float32"),
    }
    got = numpy(layer.augment(ops.convert_to_tensor(IMAGES), params))
    x = IMAGES + params["brightness"][:, None, None, None]
    mean = x.mean(axis=3, keepdims=True)
    x = (x - mean) * params["saturation"][:, None, None, None] + mean
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    x = (x - mean) * params["contrast"][:, None, None, None] + mean
    np.testing.assert_allclose(got, x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2], IMAGES[2], atol=1e-6)


def test_draws_are_in_range_and_reproducible_by_seed():
    first = DiffAugment(seed=3)
    params = {k: numpy(v) for k, v in first.draw_parameters(512, 8, 8).items()}
    assert set(np.unique(params["shift_y"])) == {-1, 0, 1}
    assert params["cutout_y"].min() == 0 and params["cutout_y"].max() == 8
    assert -0.5 <= params["brightness"].min() and params["brightness"].max() <= 0.5
    assert 0.5 <= params["contrast"].min() and params["contrast"].max() <= 1.5
    a = numpy(DiffAugment(seed=3)(IMAGES))
    np.testing.assert_array_equal(numpy(DiffAugment(seed=3)(IMAGES)), a)
    layer = DiffAugment(seed=3)
    assert not np.array_equal(numpy(layer(IMAGES)), numpy(layer(IMAGES)))


def test_gradients_flow_through_the_augmentation():
    # With fixed parameters the translation is a permutation-with-zeros: the input gradient of sum(out * w)
    # is w moved back, computed here by NumPy.
    layer = DiffAugment(("translation",))
    params = {"shift_y": np.array([1, 0, -1], "int32"), "shift_x": np.array([0, 1, 1], "int32")}
    weights = np.random.default_rng(1).standard_normal(IMAGES.shape).astype("float32")
    grad = numpy(
        input_gradient(
            lambda x: layer.augment(x, params) * ops.convert_to_tensor(weights), ops.convert_to_tensor(IMAGES)
        )
    )
    for b in range(3):
        back = numpy_translate(weights[b], -params["shift_y"][b], -params["shift_x"][b])
        np.testing.assert_allclose(grad[b], back, atol=1e-6)


def test_serialization_round_trip():
    layer = DiffAugment(("translation", "cutout"), seed=1)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    np.testing.assert_array_equal(numpy(again(IMAGES)), numpy(layer(IMAGES)))
    restored = DiffAugment.from_config(DiffAugment(("color",), cutout_ratio=0.25, seed=4).get_config())
    assert restored.policy == ("color",) and restored.cutout_ratio == 0.25 and restored.seed == 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(policy=("blur",)), "`policy` must be a tuple of names"),
        (dict(policy=("color", "color")), "must not repeat"),
        (dict(translation_ratio=1.5), "`translation_ratio` must be a number in"),
        (dict(cutout_ratio=-0.1), "`cutout_ratio` must be a number in"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DiffAugment(**kwargs)


def test_inputs_must_be_images():
    with pytest.raises(ValueError, match=r"inputs must be images \(batch, height, width, channels\)"):
        DiffAugment()(np.ones((2, 4), "float32"))
