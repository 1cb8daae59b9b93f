"""The 1-D UNet: its size in closed form, a residual block against NumPy, translation equivariance, saving."""

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.layers import ResidualBlock
from artifex_keras.layers import UNet1D
from artifex_keras.layers import UNet2D


def numpy(tensor):
    return ops.convert_to_numpy(tensor)


def parameter_count(layer):
    return sum(int(np.prod(v.shape)) for v in layer.weights)


# Parameter counts of the pieces; `k` is the number of taps of a kernel-3 convolution (3 in 1-D, 9 in 2-D).
def conv(k, c_in, c_out):
    return k * c_in * c_out + c_out


def dense(n_in, n_out):
    return n_in * n_out + n_out


def residual(k, c_in, c_out, embedding):
    shortcut = conv(1, c_in, c_out) if c_in != c_out else 0
    return 2 * c_in + conv(k, c_in, c_out) + dense(embedding, c_out) + 2 * c_out + conv(k, c_out, c_out) + shortcut


def self_attention(c):
    return 2 * c + 4 * dense(c, c)


def cross_attention(c, context_dim):
    return 2 * c + 2 * dense(c, c) + 2 * dense(context_dim, c)


def two_level_count(k, c_in, c_out, c0, c1, context_dim=None):
    """`channels=(c0, c1)`, one residual block per level, attention at level 1 and in the middle."""
    e = 4 * c0
    total = dense(c0, e) + dense(e, e)  # timestep MLP on c0 sinusoidal features
    total += conv(k, c_in, c0)  # conv_in; skip: c0
    total += residual(k, c0, c0, e)  # level 0; skip: c0
    total += conv(k, c0, c0)  # stride-2 down; skip: c0
    total += residual(k, c0, c1, e) + self_attention(c1)  # level 1; skip: c1
    total += 2 * residual(k, c1, c1, e) + self_attention(c1)  # middle
    total += residual(k, c1 + c1, c1, e) + residual(k, c1 + c0, c1, e) + 2 * self_attention(c1)  # up, level 1
    total += conv(k, c1, c1)  # after the upsampling
    total += residual(k, c1 + c0, c0, e) + residual(k, c0 + c0, c0, e)  # up, level 0
    total += 2 * c0 + conv(k, c0, c_out)  # norm_out, conv_out
    if context_dim is not None:
        total += 4 * cross_attention(c1, context_dim)  # after each of the 4 self-attentions
    return total


def small(cls=UNet1D, **kwargs):
    return cls(out_channels=3, channels=(8, 16), num_res_blocks=1, attention_levels=(1,), head_dim=4, num_groups=4,
               **kwargs)  # fmt: skip


def test_parameter_count_is_the_closed_form():
    unet, flat, text = small(), small(UNet2D), small(context_dim=6)
    # Shapes only: the variables' initial values are never drawn.
    with keras.StatelessScope(initialize_variables=False):
        unet.build((None, 16, 2), (None,))
        flat.build((None, 8, 8, 2), (None,))
        text.build((None, 16, 2), (None,), None, (None, None, 6))
    assert parameter_count(unet) == two_level_count(3, 2, 3, 8, 16) == 22_675
    # The same network code in 2-D: only the convolutions' taps change.
    assert parameter_count(flat) == two_level_count(9, 2, 3, 8, 16)
    assert parameter_count(text) == two_level_count(3, 2, 3, 8, 16, context_dim=6)


def test_output_shape_and_what_reaches_the_output():
    unet = small(num_classes=3)
    x = np.random.default_rng(0).standard_normal((3, 16, 2)).astype("float32")
    t = np.array([0.0, 5.5, 999.0], "float32")
    labels = np.array([0, 1, 2])
    # One call: the examples, then with the labels reversed, then with the timesteps reversed.
    batch_t, batch_labels = np.concatenate([t, t, t[::-1]]), np.concatenate([labels, labels[::-1], labels])
    out = numpy(unet(np.tile(x, (3, 1, 1)), batch_t, batch_labels))
    assert out.shape == (9, 16, 3) and np.all(np.isfinite(out))
    plain, other_labels, other_times = out[:3], out[3:6], out[6:]
    assert not np.allclose(other_labels, plain) and not np.allclose(other_times, plain)
    # Each example's output is its own: the middle one keeps label 1 in the second group.
    np.testing.assert_allclose(other_labels[1], plain[1], atol=1e-5)


def group_norm(x, groups, gamma, beta, epsilon=1e-6):
    batch, length, channels = x.shape
    grouped = x.reshape(batch, length, groups, channels // groups)
    mean = grouped.mean(axis=(1, 3), keepdims=True)
    var = grouped.var(axis=(1, 3), keepdims=True)
    return ((grouped - mean) / np.sqrt(var + epsilon)).reshape(x.shape) * gamma + beta


def conv1d_same(x, kernel, bias):
    """Kernel `(taps, in, out)`, stride 1, zero padding that keeps the length."""
    taps = kernel.shape[0]
    padded = np.pad(x, ((0, 0), (taps // 2, taps // 2), (0, 0)))
    length = x.shape[1]
    return sum(padded[:, j : j + length] @ kernel[j] for j in range(taps)) + bias


def silu(x):
    return x / (1.0 + np.exp(-x))


def test_residual_block_matches_numpy():
    rng = np.random.default_rng(0)
    block = ResidualBlock(4, 6, num_groups=2, rank=1)
    x = rng.standard_normal((2, 9, 4)).astype("float32")
    embedding = rng.standard_normal((2, 5)).astype("float32")
    block(x, embedding)
    # Random values everywhere, the normalisations' scales and offsets and the biases too.
    for variable in block.weights:
        variable.assign(rng.standard_normal(variable.shape).astype("float32") * 0.5)
    w = {v.path.split("/", 1)[1]: numpy(v).astype("float64") for v in block.weights}
    h = silu(group_norm(x.astype("float64"), 2, w["norm1/gamma"], w["norm1/beta"]))
    h = conv1d_same(h, w["conv1/kernel"], w["conv1/bias"])
    h = h + (silu(embedding) @ w["time_emb_proj/kernel"] + w["time_emb_proj/bias"])[:, None, :]
    h = silu(group_norm(h, 2, w["norm2/gamma"], w["norm2/beta"]))
    h = conv1d_same(h, w["conv2/kernel"], w["conv2/bias"])
    expected = h + conv1d_same(x, w["conv_shortcut/kernel"], w["conv_shortcut/bias"])
    np.testing.assert_allclose(numpy(block(x, embedding)), expected, atol=2e-5)


def test_translation_equivariance_away_from_the_borders():
    # A bump on a zero background: shifting it by a multiple of 2 ** (levels - 1) shifts the output, exactly up to
    # float32 rounding, where neither the bump's nor the borders' receptive fields reach; the normalisations and the
    # attention see the same set of values either way.
    unet = UNet1D(out_channels=1, channels=(4, 8), num_res_blocks=1, attention_levels=(1,), head_dim=4, num_groups=2)
    x = np.zeros((1, 128, 1), "float32")
    x[0, 56:64, 0] = np.random.default_rng(0).standard_normal(8)
    shifts = (8, 2, 1)
    batch = np.concatenate([x] + [np.roll(x, shift, axis=1) for shift in shifts])
    outputs = numpy(unet(batch, np.full((len(batch),), 10.0, "float32")))[..., 0]
    out = outputs[0]
    middle = slice(32, 96)
    errors = [np.abs(moved[middle] - np.roll(out, shift)[middle]).max() for moved, shift in zip(outputs[1:], shifts)]
    assert np.abs(out[middle]).max() > 0.1
    assert errors[0] < 1e-4 and errors[1] < 1e-4, errors
    # An odd shift changes which positions the stride-2 convolution keeps.
    assert errors[2] > 1e-2, errors


def test_keras_round_trip(tmp_path):
    unet = small(num_classes=3, context_dim=6)
    x = keras.Input((16, 2))
    t = keras.Input(())
    labels = keras.Input((), dtype="int32")
    context = keras.Input((4, 6))
    model = keras.Model([x, t, labels, context], unet(x, t, labels, context=context))
    rng = np.random.default_rng(1)
    inputs = [
        rng.standard_normal((2, 16, 2)).astype("float32"),
        np.array([3.0, 700.0], "float32"),
        np.array([0, 2], "int32"),
        rng.standard_normal((2, 4, 6)).astype("float32"),
    ]
    expected = numpy(model(inputs))
    path = str(tmp_path / "unet1d.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    restored = loaded.layers[-1]
    assert type(restored) is UNet1D and restored.get_config() == unet.get_config()
    np.testing.assert_allclose(numpy(loaded(inputs)), expected, atol=1e-6)


def test_errors_name_the_argument():
    unet = UNet1D(out_channels=1, channels=(8, 8, 8), num_res_blocks=1, attention_levels=(), num_groups=4)
    with pytest.raises(ValueError, match=r"UNet1D: the length of `x` must be divisible by 2 \*\* \(levels - 1\) = 4 "
                                         r"for a UNet with 3 levels, got 6"):  # fmt: skip
        unet(np.zeros((1, 6, 1), "float32"), np.zeros((1,), "float32"))
    with pytest.raises(ValueError, match=r"UNet1D: `x` must have shape \(batch, length, channels\), got \(1, 8, 8, "):
        unet(np.zeros((1, 8, 8, 1), "float32"), np.zeros((1,), "float32"))
    with pytest.raises(ValueError, match=r"ResidualBlock: `rank` must be 1 \(sequences\) or 2 \(images\), got 3"):
        ResidualBlock(4, 4, num_groups=2, rank=3)
