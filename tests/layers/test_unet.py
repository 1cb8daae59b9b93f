"""UNet, its residual blocks, self-attention and timestep embeddings: values against NumPy and the DDPM size."""

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.layers import ResidualBlock
from artifex_keras.layers import SpatialSelfAttention
from artifex_keras.layers import TimestepEmbedding
from artifex_keras.layers import UNet2D
from artifex_keras.layers import sinusoidal_embedding
from tests.checks.layers import check_layer


def numpy(tensor):
    return ops.convert_to_numpy(tensor)


def test_cifar10_configuration_has_the_ddpm_parameter_count():
    unet = UNet2D(out_channels=3, channels=(128, 256, 256, 256), num_res_blocks=2, attention_levels=(1,))
    # Shapes only: the variables' initial values are never drawn.
    with keras.StatelessScope(initialize_variables=False):
        unet.build((None, 32, 32, 3), (None,))
    # The same count as diffusers' UNet2DModel(block_out_channels=(128, 256, 256, 256), layers_per_block=2,
    # attention in the second down block and the third up block) and the DDPM paper's 35.7M.
    assert sum(int(np.prod(v.shape)) for v in unet.weights) == 35_746_307


def test_sinusoidal_embedding_closed_form():
    t = np.array([0.0, 1.0, 17.5, 999.0], "float32")
    dim = 6
    frequencies = np.exp(-np.log(10000.0) * np.arange(3) / 3)
    angles = t[:, None] * frequencies[None, :]
    expected = np.concatenate([np.cos(angles), np.sin(angles)], axis=1)
    np.testing.assert_allclose(numpy(sinusoidal_embedding(t, dim)), expected, atol=2e-4)
    odd = numpy(sinusoidal_embedding(t, 7))
    assert odd.shape == (4, 7) and np.all(odd[:, -1] == 0)


def test_timestep_embedding_layer(tmp_path):
    layer = TimestepEmbedding(16, frequency_dim=8)
    t = np.array([0.0, 3.0, 999.0], "float32")
    check_layer(layer, t, expected_output_shape=(3, 16), tmp_path=None)
    hidden, output = layer.hidden, layer.output_dense
    features = numpy(sinusoidal_embedding(t, 8))
    h = features @ numpy(hidden.kernel) + numpy(hidden.bias)
    h = h / (1 + np.exp(-h))
    np.testing.assert_allclose(numpy(layer(t)), h @ numpy(output.kernel) + numpy(output.bias), atol=1e-5)


def group_norm(x, groups, gamma, beta, epsilon=1e-6):
    batch, height, width, channels = x.shape
    grouped = x.reshape(batch, height * width, groups, channels // groups)
    mean = grouped.mean(axis=(1, 3), keepdims=True)
    var = grouped.var(axis=(1, 3), keepdims=True)
    return ((grouped - mean) / np.sqrt(var + epsilon)).reshape(x.shape) * gamma + beta


def test_spatial_self_attention_matches_numpy(tmp_path):
    layer = SpatialSelfAttention(head_dim=4, num_groups=2)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 8)).astype("float32")
    check_layer(layer, x, expected_output_shape=(2, 3, 5, 8), tmp_path=tmp_path)
    for dense in (layer.query, layer.key, layer.value, layer.output_dense):
        dense.bias.assign(np.random.default_rng(1).standard_normal(8).astype("float32"))
    h = group_norm(x.astype(float), 2, numpy(layer.norm.gamma), numpy(layer.norm.beta)).reshape(2, 15, 8)

    def project(dense, values):
        return values @ numpy(dense.kernel) + numpy(dense.bias)

    q, k, v = (project(d, h).reshape(2, 15, 2, 4) for d in (layer.query, layer.key, layer.value))
    logits = np.einsum("blhd,bmhd->bhlm", q, k) / np.sqrt(4)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    attended = np.einsum("bhlm,bmhd->blhd", weights, v).reshape(2, 15, 8)
    expected = x + project(layer.output_dense, attended).reshape(x.shape)
    np.testing.assert_allclose(numpy(layer(x)), expected, atol=2e-5)
    with pytest.raises(ValueError, match=r"SpatialSelfAttention: the channels of the input must be divisible by"):
        SpatialSelfAttention(head_dim=3, num_groups=2)(x)


@pytest.mark.slow
def test_residual_block_is_the_shortcut_when_the_last_conv_is_zero():
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 4)).astype("float32")
    embedding = np.random.default_rng(1).standard_normal((2, 6)).astype("float32")
    same = ResidualBlock(4, 4, num_groups=2)
    wider = ResidualBlock(4, 8, num_groups=2)
    for block in (same, wider):
        block(x, embedding)
        block.conv2.kernel.assign(np.zeros(block.conv2.kernel.shape, "float32"))
        block.conv2.bias.assign(np.zeros(block.conv2.bias.shape, "float32"))
    np.testing.assert_allclose(numpy(same(x, embedding)), x, atol=1e-6)
    shortcut = x @ numpy(wider.shortcut.kernel)[0, 0] + numpy(wider.shortcut.bias)
    np.testing.assert_allclose(numpy(wider(x, embedding)), shortcut, atol=1e-5)
    restored = ResidualBlock.from_config(wider.get_config())
    restored(x, embedding)
    restored.set_weights(wider.get_weights())
    np.testing.assert_allclose(numpy(restored(x, embedding)), numpy(wider(x, embedding)), atol=1e-6)
    with pytest.raises(ValueError, match=r"ResidualBlock: `out_channels` must be divisible by `num_groups` \(4\)"):
        ResidualBlock(8, 6, num_groups=4)


def small_unet(**kwargs):
    return UNet2D(out_channels=2, channels=(8, 16), num_res_blocks=1, attention_levels=(1,), head_dim=4,
                  num_groups=4, **kwargs)  # fmt: skip


@pytest.mark.slow
def test_unet_shapes_round_trip_and_conditioning():
    unet = small_unet(num_classes=3)
    x = np.random.default_rng(0).standard_normal((3, 8, 4, 2)).astype("float32")
    t = np.array([0.0, 5.5, 999.0], "float32")
    labels = np.array([0, 1, 2])
    out = numpy(unet(x, t, labels))
    assert out.shape == (3, 8, 4, 2)
    restored = UNet2D.from_config(unet.get_config())
    restored(x, t, labels)
    restored.set_weights(unet.get_weights())
    np.testing.assert_allclose(numpy(restored(x, t, labels)), out, atol=1e-6)
    # The label and the timestep both reach the output (the zero-initialised layers are none of them).
    assert not np.allclose(numpy(unet(x, t, labels[::-1])), out)
    assert not np.allclose(numpy(unet(x, t[::-1], labels)), out)


def test_unet_rejects_sizes_it_cannot_halve():
    unet = UNet2D(out_channels=1, channels=(8, 8, 8), num_res_blocks=1, attention_levels=(), num_groups=4)
    with pytest.raises(ValueError, match=r"UNet2D: the height and width of `x` must be divisible by 2 \*\* \(levels - "
                                         r"1\) = 4 for a UNet with 3 levels, got 6x8"):  # fmt: skip
        unet(np.zeros((1, 6, 8, 1), "float32"), np.zeros((1,), "float32"))
    with pytest.raises(ValueError, match=r"UNet2D: `attention_levels` must hold level indices in \[0, 2\], got \(3,\)"):
        UNet2D(out_channels=1, channels=(8, 8, 8), attention_levels=(3,))
    with pytest.raises(ValueError, match=r"UNet2D: `labels` need `num_classes`, which is None"):
        small_unet()(np.zeros((1, 8, 8, 2), "float32"), np.zeros((1,), "float32"), np.zeros((1,), "int32"))
