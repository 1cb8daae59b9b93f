import math

import numpy as np
import pytest
from keras import ops

from artifex_keras.layers import EqualizedConv2D
from artifex_keras.layers import EqualizedDense
from artifex_keras.layers import MappingNetwork
from artifex_keras.layers import MinibatchStdDev
from artifex_keras.layers import ModulatedConv2D
from artifex_keras.layers import NoiseInjection
from artifex_keras.layers import ResidualDiscriminator
from artifex_keras.layers import SynthesisNetwork
from artifex_keras.layers import ToRGB
from tests.checks.layers import check_layer


def numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype="float64")


def randomize(layer, seed):
    """Give every weight of a built layer random values, so no test passes on zeros or ones."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.standard_normal(weight.shape).astype("float32"))


def conv_same(x, kernel):
    """Stride-1 "same" convolution in float64: x (h, w, c_in), kernel (k, k, c_in, c_out)."""
    k = kernel.shape[0]
    pad = k // 2
    padded = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    out = np.zeros((x.shape[0], x.shape[1], kernel.shape[-1]))
    for i in range(k):
        for j in range(k):
            out += np.einsum("hwc,co->hwo", padded[i : i + x.shape[0], j : j + x.shape[1]], kernel[i, j])
    return out


def leaky(x):
    return np.where(x >= 0, x, 0.2 * x) * math.sqrt(2.0)


def test_equalized_dense_scales_its_weights_at_run_time():
    layer = EqualizedDense(5, lr_multiplier=0.01, bias_init=2.0)
    x = np.random.default_rng(0).standard_normal((3, 16)).astype("float32")
    y = numpy(layer(x))
    assert layer.kernel_scale == pytest.approx(0.01 / 4.0)
    # Stored at 1 / lr_multiplier: the bias at 2 / 0.01, the kernel with standard deviation 100.
    np.testing.assert_allclose(numpy(layer.bias), 200.0, rtol=1e-6)
    assert 60.0 < numpy(layer.kernel).std() < 140.0
    expected = x @ (numpy(layer.kernel) * 0.01 / 4.0) + 2.0
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    # Effective weights are He-initialised: unit second moment in, unit second moment out (before the bias).
    big = np.random.default_rng(1).standard_normal((4000, 16)).astype("float32")
    wide = EqualizedDense(64, lr_multiplier=0.01, use_bias=False)
    assert np.mean(numpy(wide(big)) ** 2) == pytest.approx(1.0, rel=0.25)


def test_equalized_conv_matches_numpy():
    layer = EqualizedConv2D(4, 3, activation="lrelu")
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 3)).astype("float32")
    layer(x)
    randomize(layer, 1)
    assert layer.kernel_scale == pytest.approx(1.0 / math.sqrt(27.0))
    kernel, bias = numpy(layer.kernel) / math.sqrt(27.0), numpy(layer.bias)
    expected = np.stack([leaky(conv_same(example, kernel) + bias) for example in x.astype("float64")])
    np.testing.assert_allclose(numpy(layer(x)), expected, rtol=1e-5, atol=1e-5)


def modulated_numpy(layer, x, w):
    """Modulate, convolve, demodulate: the paper's eq. 1-3 with each example's own kernel, in float64."""
    affine = layer.affine
    styles = w.astype("float64") @ (numpy(affine.kernel) * affine.kernel_scale) + numpy(affine.bias)
    k, c_in = layer.kernel_size, x.shape[-1]
    base = numpy(layer.kernel) / math.sqrt(k * k * c_in)
    outputs = []
    for example, style in zip(x.astype("float64"), styles):
        kernel = base * style[None, None, :, None]
        if layer.demodulate:
            kernel = kernel / np.sqrt(np.sum(kernel**2, axis=(0, 1, 2), keepdims=True) + layer.epsilon)
        outputs.append(conv_same(example, kernel))
    return np.stack(outputs)


@pytest.mark.parametrize("demodulate", [True, False], ids=["demodulated", "modulated"])
def test_modulated_conv_equals_an_independent_numpy_computation(demodulate):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 5, 4)).astype("float32")
    w = rng.standard_normal((3, 7)).astype("float32")
    layer = ModulatedConv2D(5, 3, demodulate=demodulate)
    layer([x, w])
    randomize(layer, 2)
    np.testing.assert_allclose(numpy(layer([x, w])), modulated_numpy(layer, x, w), rtol=1e-4, atol=1e-4)


def test_fused_form_equals_the_explicit_per_example_kernel():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 5, 5, 4)).astype("float32")
    w = rng.standard_normal((3, 6)).astype("float32")
    layer = ModulatedConv2D(2, 3)
    layer([x, w])
    randomize(layer, 4)
    fused = numpy(layer([x, w]))
    kernels = layer.modulated_kernel(w)
    assert tuple(kernels.shape) == (3, 3, 3, 4, 2)
    for index in range(3):
        explicit = numpy(ops.conv(x[index : index + 1], kernels[index], padding="same"))[0]
        np.testing.assert_allclose(fused[index], explicit, rtol=1e-5, atol=1e-5)
    # Demodulated kernels have unit norm per output channel.
    norms = np.sum(numpy(kernels) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_demodulated_outputs_have_unit_second_moment_for_unit_variance_inputs():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 26, 26, 16)).astype("float32")
    w = rng.standard_normal((4, 8)).astype("float32")
    layer = ModulatedConv2D(8, 3)
    layer([x, w])
    randomize(layer, 6)
    # Interior pixels only: "same" padding shrinks the receptive field at the border.
    second_moment = numpy(layer([x, w]))[:, 1:-1, 1:-1] ** 2
    assert np.mean(second_moment) == pytest.approx(1.0, abs=0.03)
    np.testing.assert_allclose(np.mean(second_moment, axis=(1, 2)), 1.0, atol=0.3)
    plain = ModulatedConv2D(8, 3, demodulate=False)
    plain([x, w])
    plain.set_weights(layer.get_weights())
    assert not np.mean(numpy(plain([x, w]))[:, 1:-1, 1:-1] ** 2) == pytest.approx(1.0, abs=0.3)


def test_noise_injection_starts_at_zero_and_is_deterministic_with_explicit_noise():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 4, 3)).astype("float32")
    noise = rng.standard_normal((2, 4, 4, 1)).astype("float32")
    layer = NoiseInjection(seed=0)
    np.testing.assert_array_equal(numpy(layer(x)), x)
    np.testing.assert_array_equal(numpy(layer.strength), np.zeros(3))
    strength = np.array([0.5, -1.0, 2.0], "float32")
    layer.strength.assign(strength)
    expected = x + strength * noise
    np.testing.assert_allclose(numpy(layer(x, noise=noise)), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(numpy(layer(x, noise=noise)), numpy(layer(x, noise=noise)))
    # Without noise: a fresh per-pixel draw each call, shared across channels.
    first, second = numpy(layer(x)), numpy(layer(x))
    assert not np.allclose(first, second)
    drawn = (first - x) / strength
    np.testing.assert_allclose(drawn, np.repeat(drawn[..., :1], 3, axis=-1), rtol=1e-4, atol=1e-5)
    restored = NoiseInjection.from_config(layer.get_config())
    restored(x)
    restored.set_weights(layer.get_weights())
    np.testing.assert_array_equal(numpy(restored(x, noise=noise)), numpy(layer(x, noise=noise)))


def test_mapping_network_matches_numpy_and_normalises_z():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, 6)).astype("float32")
    layer = MappingNetwork(latent_dim=6, w_dim=5, num_layers=2, lr_multiplier=0.1)
    layer(z)
    randomize(layer, 1)
    x = z / np.sqrt(np.mean(z.astype("float64") ** 2, axis=-1, keepdims=True) + 1e-8)
    for dense in layer.dense_layers:
        x = leaky(x @ (numpy(dense.kernel) * dense.kernel_scale) + numpy(dense.bias) * 0.1)
    np.testing.assert_allclose(numpy(layer(z)), x, rtol=1e-4, atol=1e-4)
    # z is normalised by its second moment: scaling it changes nothing.
    np.testing.assert_allclose(numpy(layer(3.0 * z)), numpy(layer(z)), rtol=1e-5, atol=1e-5)


def test_mapping_network_tracks_and_truncates_towards_the_average_w():
    layer = MappingNetwork(latent_dim=3, w_dim=4, num_layers=1, w_avg_decay=0.75)
    layer.build()
    w = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    old = np.array([1.0, -2.0, 0.5, 0.0], "float32")
    layer.w_avg.assign(old)
    layer.update_w_avg(w)
    average = 0.75 * old + 0.25 * w.mean(axis=0)
    np.testing.assert_allclose(numpy(layer.w_avg), average, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(layer.truncate(w, 0.0)), np.broadcast_to(average, w.shape), atol=1e-6)
    np.testing.assert_allclose(numpy(layer.truncate(w, 0.5)), average + 0.5 * (w - average), atol=1e-6)
    np.testing.assert_array_equal(numpy(layer.truncate(w, 1.0)), w)


def test_mapping_network_class_embedding():
    z = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    layer = MappingNetwork(latent_dim=4, w_dim=4, num_layers=2, num_classes=3)
    first = numpy(layer(z, labels=np.array([0, 1, 2])))
    second = numpy(layer(z, labels=np.array([1, 1, 1])))
    np.testing.assert_allclose(first[1], second[1], atol=1e-6)
    assert not np.allclose(first[0], second[0])
    with pytest.raises(ValueError, match="`labels` are required"):
        layer(z)
    restored = MappingNetwork.from_config(layer.get_config())
    restored(z, labels=np.array([0, 1, 2]))
    restored.set_weights(layer.get_weights())
    np.testing.assert_allclose(numpy(restored(z, labels=np.array([0, 1, 2]))), first, atol=1e-6)


def test_minibatch_stddev_matches_numpy_with_a_partial_group():
    x = np.random.default_rng(0).standard_normal((6, 2, 2, 3)).astype("float32")
    out = numpy(MinibatchStdDev(group_size=4)(x))
    expected = np.empty(6)
    for group in (slice(0, 4), slice(4, 6)):
        expected[group] = np.mean(np.sqrt(np.var(x[group].astype("float64"), axis=0) + 1e-8))
    np.testing.assert_allclose(out[..., :3], x, atol=0)
    np.testing.assert_allclose(out[..., 3], np.broadcast_to(expected[:, None, None], (6, 2, 2)), rtol=1e-5)


def test_to_rgb_is_a_modulated_one_by_one_conv_without_demodulation():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 3, 4)).astype("float32")
    w = rng.standard_normal((2, 5)).astype("float32")
    layer = ToRGB(3)
    layer([x, w])
    randomize(layer, 1)
    assert not layer.conv.demodulate and layer.conv.kernel_size == 1
    expected = modulated_numpy(layer.conv, x, w) + numpy(layer.bias)
    np.testing.assert_allclose(numpy(layer([x, w])), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_layers_survive_serialisation(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 4, 3)).astype("float32")
    w = rng.standard_normal((2, 5)).astype("float32")
    check_layer(ModulatedConv2D(2, 3, demodulate=False), [x, w], expected_output_shape=(2, 4, 4, 2))
    check_layer(ToRGB(1), [x, w], expected_output_shape=(2, 4, 4, 1))
    check_layer(EqualizedDense(3, lr_multiplier=0.5, activation="lrelu"), w, (2, 3), tmp_path=tmp_path)
    check_layer(MappingNetwork(5, 4, num_layers=2), w, (2, 4), tmp_path=tmp_path)
    check_layer(MinibatchStdDev(2), x, (2, 4, 4, 4), tmp_path=tmp_path)
    images = rng.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    check_layer(ResidualDiscriminator(8, (4, 2), mbstd_group_size=2), images, (2, 1), tmp_path=tmp_path)
    synthesis = SynthesisNetwork(w_dim=5, resolution=8, channels=(4, 2), image_channels=1, seed=0)
    ws = rng.standard_normal((2, synthesis.num_ws, 5)).astype("float32")
    check_layer(synthesis, ws, (2, 8, 8, 1))


def test_synthesis_network_reads_one_w_per_layer():
    synthesis = SynthesisNetwork(w_dim=3, resolution=16, channels=(4, 4, 2), image_channels=3)
    assert synthesis.num_ws == 2 * 4 - 2
    assert len(synthesis.noise_shapes(2)) == synthesis.num_ws - 1
    ws = np.random.default_rng(0).standard_normal((2, synthesis.num_ws, 3)).astype("float32")
    image, features = synthesis(ws, noise=synthesis.zero_noise(2), return_features=True)
    assert tuple(image.shape) == (2, 16, 16, 3)
    assert [tuple(f.shape[1:]) for f in features] == [(4, 4, 4), (8, 8, 4), (8, 8, 4), (16, 16, 2), (16, 16, 2)]
    # The last w only feeds the last ToRGB: changing it moves the image but no feature map.
    changed = ws.copy()
    changed[:, -1] = -changed[:, -1]
    image_2, features_2 = synthesis(changed, noise=synthesis.zero_noise(2), return_features=True)
    for a, b in zip(features, features_2):
        np.testing.assert_array_equal(numpy(a), numpy(b))
    assert not np.allclose(numpy(image), numpy(image_2))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: EqualizedDense(0), "EqualizedDense: `units` must be a positive int"),
        (lambda: EqualizedDense(3, lr_multiplier=0), "`lr_multiplier` must be a positive number"),
        (lambda: EqualizedConv2D(3, 2), "`kernel_size` must be odd"),
        (lambda: ModulatedConv2D(3, 4), "ModulatedConv2D: `kernel_size` must be odd"),
        (lambda: ModulatedConv2D(0), "ModulatedConv2D: `filters` must be a positive int"),
        (lambda: MappingNetwork(4, 4, num_classes=-1), "`num_classes` must be a non-negative int"),
        (lambda: MappingNetwork(4, 4, w_avg_decay=1.0), "`w_avg_decay` must be a number in"),
        (lambda: MinibatchStdDev(0), "`group_size` must be a positive int"),
        (lambda: SynthesisNetwork(4, resolution=12, channels=(4, 4)), "`resolution` must be a power of 2"),
        (lambda: SynthesisNetwork(4, resolution=16, channels=(4, 4)), "`channels` must be a tuple of 3"),
        (lambda: ResidualDiscriminator(8, (4, 4), mbstd_group_size=-1), "`mbstd_group_size`"),
        (lambda: ToRGB(0), "ToRGB: `channels` must be a positive int"),
    ],
)
def test_bad_arguments_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()
