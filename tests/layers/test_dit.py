"""DiT layers: patches, positions, adaLN-Zero blocks against NumPy, the backbone's size and its zero start."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.layers import DiTBackbone
from artifex_keras.layers import DiTBlock
from artifex_keras.layers import DiTFinalLayer
from artifex_keras.layers import PatchEmbedding
from artifex_keras.layers import patchify
from artifex_keras.layers import unpatchify
from tests.checks.layers import check_layer


def numpy(tensor):
    return np.array(ops.convert_to_numpy(tensor))


def randomise(layer, seed=0, scale=0.3):
    """Every weight of `layer` drawn from N(0, scale^2): the zero-initialised ones too."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(rng.normal(scale=scale, size=variable.shape).astype("float32"))


# NumPy references -------------------------------------------------------------------
def layer_norm(x, epsilon=1e-6):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + epsilon)


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def dense(layer, x):
    return x @ numpy(layer.kernel).astype("float64") + numpy(layer.bias).astype("float64")


def attention(block, h):
    batch, length, width = h.shape
    heads, head_dim = block.num_heads, width // block.num_heads
    qkv = dense(block.qkv, h).reshape(batch, length, 3, heads, head_dim)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    logits = np.einsum("blhd,bmhd->bhlm", q, k) / np.sqrt(head_dim)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    attended = np.einsum("bhlm,bmhd->blhd", weights, v).reshape(batch, length, width)
    return dense(block.attention_output, attended)


def dit_block(block, x, c):
    chunks = np.split(dense(block.modulation, silu(c))[:, None, :], 6, axis=-1)
    shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = chunks
    x = x + gate_a * attention(block, layer_norm(x) * (1 + scale_a) + shift_a)
    h = layer_norm(x) * (1 + scale_m) + shift_m
    return x + gate_m * dense(block.mlp_output, gelu_tanh(dense(block.mlp_hidden, h)))


def final_layer(layer, x, c):
    shift, scale = np.split(dense(layer.modulation, silu(c))[:, None, :], 2, axis=-1)
    return dense(layer.linear, layer_norm(x) * (1 + scale) + shift)


def position_embedding(rows, columns, dim):
    """One token at a time: the column's [sin, cos] features, then the row's."""
    quarter = dim // 4
    table = np.zeros((rows * columns, dim))
    for i in range(rows):
        for j in range(columns):
            for k in range(quarter):
                w = 10000.0 ** (-k / quarter)
                table[i * columns + j, [k, quarter + k, 2 * quarter + k, 3 * quarter + k]] = [
                    math.sin(j * w), math.cos(j * w), math.sin(i * w), math.cos(i * w)
                ]  # fmt: skip
    return table


def dit_parameters(patch, channels, hidden, depth, mlp_ratio, num_classes, frequency_dim=256):
    """Closed-form count of a `DiTBackbone`'s weights (positions are fixed, no weights)."""
    mlp = int(hidden * mlp_ratio)
    patch_embedding = patch * patch * channels * hidden + hidden
    time_embedding = frequency_dim * hidden + hidden + hidden * hidden + hidden
    class_embedding = 0 if num_classes is None else (num_classes + 1) * hidden
    attention_weights = hidden * 3 * hidden + 3 * hidden + hidden * hidden + hidden
    mlp_weights = hidden * mlp + mlp + mlp * hidden + hidden
    modulation = hidden * 6 * hidden + 6 * hidden
    block = attention_weights + mlp_weights + modulation
    final = hidden * 2 * hidden + 2 * hidden + hidden * patch * patch * channels + patch * patch * channels
    return patch_embedding + time_embedding + class_embedding + depth * block + final


def tiny_backbone(**kwargs):
    arguments = dict(out_channels=2, patch_size=2, hidden_size=16, depth=2, num_heads=4, num_classes=3)
    return DiTBackbone(**{**arguments, **kwargs})


# Patches ---------------------------------------------------------------------------
def test_patchify_then_unpatchify_is_the_identity_on_a_known_array():
    x = np.arange(2 * 4 * 6 * 3, dtype="float32").reshape(2, 4, 6, 3)
    tokens = numpy(patchify(x, 2))
    assert tokens.shape == (2, 6, 12)
    # Patches row by row; inside a patch, (row, column, channel).
    np.testing.assert_array_equal(tokens[0, 0], x[0, 0:2, 0:2].reshape(-1))
    np.testing.assert_array_equal(tokens[1, 5], x[1, 2:4, 4:6].reshape(-1))
    np.testing.assert_array_equal(tokens[0, 2], np.concatenate([x[0, 0, 4:6].reshape(-1), x[0, 1, 4:6].reshape(-1)]))
    np.testing.assert_array_equal(numpy(unpatchify(tokens, 2, 4, 6)), x)
    np.testing.assert_array_equal(numpy(unpatchify(patchify(x, 1), 1, 4, 6)), x)
    with pytest.raises(ValueError, match=r"patchify: the height and width of `images` must be divisible by "
                                         r"`patch_size` \(4\), got 4x6"):  # fmt: skip
        patchify(x, 4)
    with pytest.raises(ValueError, match=r"unpatchify: `tokens` must have shape \(batch, 4, p \* p \* channels\)"):
        unpatchify(tokens, 2, 4, 4)


def test_patch_embedding_is_a_dense_layer_on_patches_plus_fixed_positions(tmp_path):
    layer = PatchEmbedding(patch_size=2, hidden_size=8)
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 3)).astype("float32")
    check_layer(layer, x, expected_output_shape=(2, 6, 8), tmp_path=tmp_path)
    layer.projection.bias.assign(np.random.default_rng(1).standard_normal(8).astype("float32"))
    # The positions are constants, not weights: only the projection trains.
    assert [tuple(v.shape) for v in layer.weights] == [(2, 2, 3, 8), (8,)]
    kernel = numpy(layer.projection.kernel).reshape(12, 8)
    expected = numpy(patchify(x, 2)) @ kernel + numpy(layer.projection.bias) + position_embedding(2, 3, 8)
    np.testing.assert_allclose(numpy(layer(x)), expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"PatchEmbedding: built for 4x6 images, got 6x6"):
        layer(np.zeros((1, 6, 6, 3), "float32"))
    with pytest.raises(ValueError, match=r"PatchEmbedding: `hidden_size` must be divisible by 4"):
        PatchEmbedding(patch_size=2, hidden_size=6)
    with pytest.raises(ValueError, match=r"PatchEmbedding: the height and width of `images` must be divisible by "
                                         r"`patch_size` \(4\), got 4x6"):  # fmt: skip
        PatchEmbedding(patch_size=4, hidden_size=8)(x)


# Blocks ----------------------------------------------------------------------------
def test_dit_block_is_the_identity_at_initialisation_and_matches_numpy():
    block = DiTBlock(hidden_size=16, num_heads=4, mlp_ratio=2.5)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 16)).astype("float32")
    c = rng.standard_normal((2, 12)).astype("float32")
    np.testing.assert_array_equal(numpy(block(x, c)), x)
    assert numpy(block.modulation.kernel).shape == (12, 96) and not numpy(block.modulation.kernel).any()
    randomise(block)
    out = numpy(block(x, c))
    np.testing.assert_allclose(out, dit_block(block, x.astype("float64"), c.astype("float64")), atol=2e-5)
    assert np.abs(out - x).max() > 0.1
    restored = DiTBlock.from_config(block.get_config())
    restored(x, c)
    restored.set_weights(block.get_weights())
    np.testing.assert_allclose(numpy(restored(x, c)), out, atol=1e-6)
    with pytest.raises(ValueError, match=r"DiTBlock: `num_heads` must divide `hidden_size` \(30\), got 4"):
        DiTBlock(hidden_size=30, num_heads=4)
    with pytest.raises(ValueError, match=r"DiTBlock: `mlp_ratio` must be a positive number, got 0"):
        DiTBlock(hidden_size=16, num_heads=4, mlp_ratio=0)


def test_final_layer_is_zero_at_initialisation_and_matches_numpy():
    layer = DiTFinalLayer(patch_size=2, out_channels=3)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 8)).astype("float32")
    c = rng.standard_normal((2, 8)).astype("float32")
    out = numpy(layer(x, c))
    assert out.shape == (2, 4, 12) and np.all(out == 0)
    randomise(layer, seed=2)
    np.testing.assert_allclose(numpy(layer(x, c)), final_layer(layer, x.astype(float), c.astype(float)), atol=2e-5)


# The backbone ----------------------------------------------------------------------
def test_dit_s2_parameter_count_equals_the_closed_form():
    dit = DiTBackbone(out_channels=4, patch_size=2, hidden_size=384, depth=12, num_heads=6, num_classes=1000)
    # Shapes only: the variables' initial values are never drawn.
    with keras.StatelessScope(initialize_variables=False):
        dit.build((None, 32, 32, 4), (None,), (None,))
    count = sum(int(np.prod(v.shape)) for v in dit.weights)
    assert count == dit_parameters(2, 4, 384, 12, 4.0, 1000) == 32_858_896
    # The paper's DiT-S/2 has "33M" (it also predicts a variance: 6,160 more in the final layer).
    assert 32.5e6 < count < 33.5e6
    tiny = tiny_backbone(patch_size=4, hidden_size=24, num_heads=3, mlp_ratio=1.5, num_classes=None, frequency_dim=10)
    tiny.build((None, 8, 12, 2), (None,))
    assert sum(int(np.prod(v.shape)) for v in tiny.weights) == dit_parameters(4, 2, 24, 2, 1.5, None, 10)


def test_backbone_is_zero_at_initialisation_with_every_block_the_identity():
    dit = tiny_backbone()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 8, 4, 2)).astype("float32")
    t = np.array([0.0, 17.5, 999.0], "float32")
    labels = np.array([0, 2, 3])
    out = numpy(dit(x, t, labels))
    assert out.shape == x.shape and np.all(out == 0)
    tokens = dit.patch_embedding(x)
    conditioning = dit.embed_conditioning(t, labels)
    for block in dit.blocks:
        np.testing.assert_array_equal(numpy(block(tokens, conditioning)), numpy(tokens))


def test_backbone_attends_to_every_patch_and_reads_its_conditioning():
    dit = tiny_backbone()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 8, 4, 2)).astype("float32")
    t = np.array([0.0, 17.5, 999.0], "float32")
    labels = np.array([0, 2, 1])
    dit(x, t, labels)
    randomise(dit, seed=3, scale=0.2)
    out = numpy(dit(x, t, labels))
    # A change in the top-left patch reaches every patch of the output, through the attention.
    moved = x.copy()
    moved[:, 0:2, 0:2] += 1.0
    change = np.abs(numpy(dit(moved, t, labels)) - out)
    per_patch = numpy(patchify(change, 2)).max(axis=-1)
    assert per_patch.shape == (3, 8) and per_patch.min() > 1e-4, per_patch
    # The timestep and the class both change the output; no labels is the "no label" class.
    assert np.all(np.abs(numpy(dit(x, t + 50.0, labels)) - out).max(axis=(1, 2, 3)) > 1e-4)
    assert np.all(np.abs(numpy(dit(x, t, (labels + 1) % 3)) - out).max(axis=(1, 2, 3)) > 1e-4)
    np.testing.assert_array_equal(numpy(dit(x, t)), numpy(dit(x, t, np.full(3, 3))))
    assert dit.null_label == 3
    # Rebuilt from its config (and Keras serialisation), with the same weights, it gives the same outputs.
    for restored in (DiTBackbone.from_config(dit.get_config()),
                     keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(dit))):  # fmt: skip
        assert restored.get_config() == dit.get_config()
        restored(x, t, labels)
        restored.set_weights(dit.get_weights())
        np.testing.assert_allclose(numpy(restored(x, t, labels)), out, atol=1e-6)


def test_backbone_errors():
    unconditional = tiny_backbone(num_classes=None)
    x = np.zeros((2, 8, 4, 2), "float32")
    t = np.zeros((2,), "float32")
    with pytest.raises(ValueError, match=r"DiTBackbone: `labels` need `num_classes`, which is None"):
        unconditional(x, t, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"PatchEmbedding: the height and width of `images` must be divisible by "
                                         r"`patch_size` \(2\), got 5x4"):  # fmt: skip
        tiny_backbone()(np.zeros((2, 5, 4, 2), "float32"), t)
    with pytest.raises(ValueError, match=r"DiTBackbone: `depth` must be a positive int, got 0"):
        tiny_backbone(depth=0)
    with pytest.raises(ValueError, match=r"DiTBlock: `num_heads` must divide `hidden_size` \(16\), got 3"):
        tiny_backbone(num_heads=3)
