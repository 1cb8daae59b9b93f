import keras
import numpy as np
import pytest

from artifex_keras.models.gan import MultiScalePatchGANDiscriminator
from artifex_keras.models.gan import PatchGANDiscriminator
from artifex_keras.models.gan import losses
from artifex_keras.models.gan.patchgan import logit_maps
from artifex_keras.models.gan.patchgan import mean_over_scales
from artifex_keras.models.gan.patchgan import patch_output_size
from artifex_keras.models.gan.patchgan import patch_receptive_field
from tests.checks.layers import check_layer


def _numpy(value):
    return np.array(keras.ops.convert_to_numpy(value))


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, shape).astype("float32")


def test_receptive_field_and_map_size_follow_the_closed_form():
    # Layer by layer, r_in = (r_out - 1) * stride + 4 gives 9 * 2^n - 2 for n stride-2 layers and two stride-1
    # layers; each padded 4x4 convolution maps a side s to floor((s - 2) / stride) + 1.
    for num_layers in range(1, 6):
        assert patch_receptive_field(num_layers) == 9 * 2**num_layers - 2
        for size in range(1, 80):
            assert patch_output_size(size, num_layers) == max(size // 2**num_layers - 2, 0), (num_layers, size)
    assert patch_receptive_field(3) == 70 and patch_output_size(256, 3) == 30  # the pix2pix 70x70 PatchGAN
    for num_layers, size in [(1, 13), (3, 32)]:
        layer = PatchGANDiscriminator(filters=2, num_layers=num_layers, norm="none")
        logits = _numpy(layer(_images((2, size, size + 4, 1))))
        expected = (2, patch_output_size(size, num_layers), patch_output_size(size + 4, num_layers), 1)
        assert logits.shape == expected and layer.receptive_field == patch_receptive_field(num_layers)


def _conv(x, kernel, bias, stride):
    """Zero-padded (by 1) 4x4 convolution of `x` `(b, h, w, c)` with a `(4, 4, c, f)` kernel: the reference."""
    x = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    rows, columns = (x.shape[1] - 4) // stride + 1, (x.shape[2] - 4) // stride + 1
    out = np.zeros((x.shape[0], rows, columns, kernel.shape[-1]))
    for i in range(rows):
        for j in range(columns):
            patch = x[:, i * stride : i * stride + 4, j * stride : j * stride + 4, :]
            out[:, i, j] = np.einsum("bhwc,hwcf->bf", patch, kernel)
    return out + bias


def _leaky(x):
    return np.where(x > 0, x, 0.2 * x)


def test_logits_match_a_numpy_convolution_stack_and_the_condition_comes_after_the_image():
    layer = PatchGANDiscriminator(filters=3, num_layers=2, norm="none")
    images, sources = _images((2, 16, 16, 1)), _images((2, 16, 16, 2), seed=1)
    logits = _numpy(layer(images, condition=sources))
    convs = [block[1] for block in layer.blocks]
    x = np.concatenate([images, sources], axis=-1).astype("float64")
    for index, (conv, stride) in enumerate(zip(convs, (2, 2, 1, 1))):
        x = _conv(x, _numpy(conv.kernel), _numpy(conv.bias), stride)
        x = _leaky(x) if index < len(convs) - 1 else x
    assert [_numpy(c.kernel).shape[-1] for c in convs] == [3, 6, 12, 1]
    np.testing.assert_allclose(logits, x, rtol=1e-5, atol=1e-5)
    # The condition is concatenated on channels: the same as passing the pair as one image.
    np.testing.assert_array_equal(_numpy(layer(np.concatenate([images, sources], axis=-1))), logits)


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_each_logit_depends_only_on_its_receptive_field(norm):
    num_layers, size = 1, 24
    layer = PatchGANDiscriminator(filters=4, num_layers=num_layers, norm=norm, spectral_norm=norm == "batch")
    image = _images((1, size, size, 1))
    base = _numpy(layer(image))
    side, field, jump = base.shape[1], patch_receptive_field(num_layers), 2**num_layers
    # Logit o sees input pixels [jump * o - 3 * jump + 1, ... + field - 1] along each axis (padding 1 per layer).
    starts = jump * np.arange(side) - 3 * jump + 1
    for row, column in [(0, 0), (23, 23), (11, 5), (23, 0)]:
        perturbed = image.copy()
        perturbed[0, row, column, 0] += 3.0
        changed = np.abs(_numpy(layer(perturbed)) - base)[0, :, :, 0] > 1e-5
        sees_row = (starts <= row) & (row < starts + field)
        sees_column = (starts <= column) & (column < starts + field)
        np.testing.assert_array_equal(changed, np.outer(sees_row, sees_column), err_msg=str((row, column)))
    far = image.copy()
    far[0, 23, 23, 0] = 0.0
    np.testing.assert_array_equal(_numpy(layer(far))[0, 0, 0], base[0, 0, 0])


def test_multi_scale_maps_and_the_mean_over_scales():
    layer = MultiScalePatchGANDiscriminator(num_scales=3, filters=2, num_layers=1, norm="none")
    images, sources = _images((2, 28, 28, 1)), _images((2, 28, 28, 1), seed=1)
    maps = logit_maps(layer, images, condition=sources)
    assert [tuple(m.shape) for m in maps] == [(2, 12, 12, 1), (2, 5, 5, 1), (2, 1, 1, 1)]
    assert [tuple(s) for s in layer.compute_output_shape((2, 28, 28, 1))] == [
        (2, 12, 12, 1), (2, 5, 5, 1), (2, 1, 1, 1),
    ]  # fmt: skip

    def pool(x):
        return x.reshape(x.shape[0], x.shape[1] // 2, 2, x.shape[2] // 2, 2, x.shape[3]).mean(axis=(2, 4))

    pooled_images, pooled_sources = pool(pool(images)), pool(pool(sources))
    coarsest = _numpy(layer.discriminators[2](pooled_images, condition=pooled_sources))
    np.testing.assert_allclose(_numpy(maps[2]), coarsest, rtol=1e-5, atol=1e-6)
    # Discriminators of the scales have their own weights.
    assert len({id(v) for d in layer.discriminators for v in d.trainable_variables}) == len(layer.trainable_variables)
    loss = _numpy(mean_over_scales(lambda fake: losses.generator_loss("least_squares", fake), maps))
    expected = np.mean([0.5 * np.mean((_numpy(m) - 1.0) ** 2) for m in maps])
    np.testing.assert_allclose(loss, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "layer, shape",
    [
        (PatchGANDiscriminator(filters=2, num_layers=1, norm="instance"), (2, 12, 12, 1)),
        (PatchGANDiscriminator(filters=2, num_layers=2, norm="batch", spectral_norm=True), (2, 5, 5, 1)),
        (MultiScalePatchGANDiscriminator(num_scales=2, filters=2, num_layers=1, norm="instance"), [(2, 12, 12, 1),
                                                                                                    (2, 5, 5, 1)]),
    ],
    ids=["instance", "batch_spectral", "multi_scale"],
)
def test_layers_serialise(layer, shape, tmp_path):
    check_layer(layer, _images((2, 28, 28, 2)), expected_output_shape=shape, tmp_path=tmp_path)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: PatchGANDiscriminator(norm="layer"), "`norm` must be one of 'instance', 'batch', 'none'"),
        (lambda: PatchGANDiscriminator(num_layers=0), "`num_layers` must be a positive int, got 0"),
        (lambda: MultiScalePatchGANDiscriminator(num_scales=0), "`num_scales` must be a positive int"),
        (lambda: PatchGANDiscriminator(num_layers=3)(np.zeros((1, 16, 16, 1), "float32")), "at least 24"),
        (
            lambda: MultiScalePatchGANDiscriminator(3, num_layers=2)(np.zeros((1, 28, 28, 1), "float32")),
            "at least 48 for a PatchGAN discriminator with num_layers=2 at 3 scales",
        ),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
