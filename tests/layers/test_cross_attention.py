"""Cross-attention against NumPy multi-head attention, and a UNet conditioned through it."""

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.layers import CrossAttention
from artifex_keras.layers import UNet2D


def numpy(tensor):
    return ops.convert_to_numpy(tensor)


def group_norm(x, groups, gamma, beta, epsilon=1e-6):
    batch, channels = x.shape[0], x.shape[-1]
    grouped = x.reshape(batch, -1, groups, channels // groups)
    mean = grouped.mean(axis=(1, 3), keepdims=True)
    var = grouped.var(axis=(1, 3), keepdims=True)
    return ((grouped - mean) / np.sqrt(var + epsilon)).reshape(x.shape) * gamma + beta


def reference(layer, x, context, mask, heads):
    """`x + W_o MHA(W_q GN(x), W_k c, W_v c)` in float64; masked tokens get no weight, a fully masked row no update."""
    w = {v.path.split("/", 1)[1]: numpy(v).astype("float64") for v in layer.weights}
    batch, channels = x.shape[0], x.shape[-1]
    h = group_norm(x.astype("float64"), layer.num_groups, w["group_norm/gamma"], w["group_norm/beta"])
    h = h.reshape(batch, -1, channels)

    def project(name, values):
        out = values @ w[f"{name}/kernel"] + w[f"{name}/bias"]
        return out.reshape(batch, out.shape[1], heads, channels // heads)

    q, k, v = project("to_q", h), project("to_k", context), project("to_v", context)
    logits = np.einsum("bnhd,bshd->bhns", q, k) / np.sqrt(channels // heads)
    logits = np.where(mask[:, None, None, :], logits, -np.inf)
    visible = mask.any(axis=1)
    logits[~visible] = 0.0  # any finite row: its update is dropped below
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    attended = np.einsum("bhns,bshd->bnhd", weights, v).reshape(batch, -1, channels)
    update = (attended @ w["to_out/kernel"] + w["to_out/bias"]) * visible[:, None, None]
    return x + update.reshape(x.shape)


@pytest.mark.parametrize("spatial", [(3, 5), (7,)], ids=["image", "sequence"])
def test_cross_attention_matches_numpy(spatial):
    rng = np.random.default_rng(0)
    layer = CrossAttention(head_dim=4, num_groups=2)
    x = rng.standard_normal((3, *spatial, 8)).astype("float32")
    context = rng.standard_normal((3, 4, 6)).astype("float32")
    mask = np.array([[True, True, True, True], [True, False, True, False], [False, False, False, False]])
    layer(x, context)
    for variable in layer.weights:
        variable.assign(rng.standard_normal(variable.shape).astype("float32") * 0.5)
    np.testing.assert_allclose(numpy(layer(x, context)), reference(layer, x, context, np.ones((3, 4), bool), 2),
                               atol=2e-5)  # fmt: skip
    masked = numpy(layer(x, context, context_mask=mask))
    np.testing.assert_allclose(masked, reference(layer, x, context, mask, 2), atol=2e-5)
    # A fully masked context leaves the map as it is.
    np.testing.assert_array_equal(masked[2], x[2])
    restored = CrossAttention.from_config(layer.get_config())
    restored(x, context)
    restored.set_weights(layer.get_weights())
    np.testing.assert_allclose(numpy(restored(x, context, context_mask=mask)), masked, atol=1e-6)


def unet(**kwargs):
    return UNet2D(out_channels=1, channels=(8,), num_res_blocks=1, attention_levels=(0,), head_dim=4, num_groups=4,
                  name="unet", **kwargs)  # fmt: skip


def test_unet_follows_the_context_and_ignores_what_is_masked_out():
    rng = np.random.default_rng(1)
    conditioned = unet(context_dim=6)
    x = np.tile(rng.standard_normal((1, 4, 4, 1)).astype("float32"), (6, 1, 1, 1))
    t = np.full((6,), 30.0, "float32")
    first, second = rng.standard_normal((2, 1, 3, 6)).astype("float32")
    changed_last = first.copy()
    changed_last[:, 2] = second[:, 2]
    contexts = np.concatenate([first, second, first, second, first, changed_last])
    visible = np.array([[1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 0], [1, 1, 0]], bool)
    out = numpy(conditioned(x, t, context=contexts, context_mask=visible))
    assert not np.allclose(out[0], out[1], atol=1e-4)  # another context, another output
    np.testing.assert_array_equal(out[2], out[3])  # fully masked: the context does not matter
    np.testing.assert_allclose(out[4], out[5], atol=1e-6)  # a masked-out token does not matter
    assert not np.allclose(out[4], out[0], atol=1e-4)  # but masking it does
    # Fully masked, the network is the same UNet without cross-attention.
    plain = unet()
    plain.build((None, 4, 4, 1), (None,))
    weights = {v.path: v for v in conditioned.weights}
    for variable in plain.weights:
        variable.assign(weights[variable.path])
    np.testing.assert_allclose(numpy(plain(x[:1], t[:1]))[0], out[2], atol=1e-5)


def test_context_errors_name_the_argument():
    x, t = np.zeros((2, 4, 4, 1), "float32"), np.zeros((2,), "float32")
    with pytest.raises(ValueError, match=r"UNet2D: `context` needs `context_dim`, which is None"):
        unet()(x, t, context=np.zeros((2, 3, 6), "float32"))
    conditioned = unet(context_dim=6)
    with pytest.raises(ValueError, match=r"UNet2D: `context` of shape \(batch, tokens, 6\) is required"):
        conditioned(x, t)
    with pytest.raises(ValueError, match=r"UNet2D: `context` must have shape \(batch, tokens, 6\), got \(2, 3, 5\)"):
        conditioned(x, t, context=np.zeros((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match=r"UNet2D: `context_dim` needs attention layers to attend from"):
        UNet2D(out_channels=1, channels=(8,), attention_levels=(), mid_attention=False, num_groups=4, context_dim=6)
    with pytest.raises(ValueError, match=r"CrossAttention: `context` must have shape \(batch, tokens, context_dim\)"):
        CrossAttention(head_dim=4, num_groups=2)(np.zeros((1, 3, 8), "float32"), np.zeros((1, 6), "float32"))
    with pytest.raises(ValueError, match=r"CrossAttention: the channels of the input must be divisible by `head_dim`"):
        CrossAttention(head_dim=3, num_groups=2)(np.zeros((1, 3, 8), "float32"), np.zeros((1, 2, 6), "float32"))


def test_keras_mask_of_the_context_is_used():
    # An `Embedding(mask_zero=True)` masks its padding ids; the layer reads that mask when none is passed.
    layer = CrossAttention(head_dim=4, num_groups=2)
    embedding = keras.layers.Embedding(10, 6, mask_zero=True)
    x = np.random.default_rng(2).standard_normal((2, 5, 8)).astype("float32")
    ids = np.array([[3, 4, 0], [0, 0, 0]])
    context = embedding(ids)
    implicit = numpy(layer(x, context))
    explicit = numpy(layer(x, context, context_mask=ids > 0))
    np.testing.assert_allclose(implicit, explicit, atol=1e-6)
    np.testing.assert_array_equal(implicit[1], x[1])
