"""The DDPM UNet over sequences and audio: `(batch, length, channels)` maps, the design of `UNet2D` in one dimension."""

import keras

from artifex_keras.layers.unet import UNetBase


@keras.saving.register_keras_serializable(package="artifex_keras")
class UNet1D(UNetBase):
    """The DDPM UNet on sequences: maps `(x_t, t[, labels][, context])` to `(batch, length, out_channels)`.

    `UNet2D` with kernel-3 `Conv1D` convolutions: levels of `channels[i]`
    channels, each with `num_res_blocks` residual blocks (the timestep
    embedding, plus a class embedding with `num_classes`, enters each), self-
    attention over the sequence's steps at `attention_levels` and in the
    middle, stride-2 convolutions down and nearest-neighbour repetition up,
    skip connections across. With `context_dim`, cross-attention to a context
    `(batch, tokens, context_dim)` follows every self-attention (see
    `UNet2D`). Inputs must have a length divisible by
    `2 ** (len(channels) - 1)`.

    Args: those of `UNetBase`.

    Example:
    ```python
    unet = UNet1D(out_channels=2, channels=(16, 32), attention_levels=(1,), num_groups=8)
    unet(keras.random.normal((4, 64, 2)), ops.convert_to_tensor([0.0, 10.0, 500.0, 999.0])).shape
    # (4, 64, 2)
    ```

    Reference:
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020 (appendix B);
        one-dimensional as in Janner et al., "Planning with Diffusion for Flexible Behavior
        Synthesis", ICML 2022.
    """

    rank = 1
    spatial_axes = ("length",)
