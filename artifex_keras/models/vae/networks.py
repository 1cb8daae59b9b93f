"""Encoder and decoder networks shared by the VAE family."""

import math

import keras
from keras import layers


def downsampled_shape(input_shape, num_downsamplings):
    """Spatial shape after `num_downsamplings` stride-2 convolutions (exact halvings)."""
    height, width = input_shape[0], input_shape[1]
    factor = 2**num_downsamplings
    return height // factor, width // factor


def check_conv_shape(owner, input_shape, filters):
    """Convolutional nets halve the image per level: sizes must divide evenly."""
    if len(input_shape) != 3:
        raise ValueError(f"{owner}: `input_shape` must be (height, width, channels) for a conv net, got {input_shape}")
    factor = 2 ** len(filters)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(
            f"{owner}: `input_shape` height and width must be divisible by {factor} "
            f"(2 ** len(hidden_dims)) for the conv architecture, got {input_shape}"
        )


def build_encoder_trunk(architecture, input_shape, hidden_dims, name, spatial=False):
    """Feature extractor `x -> features`: a flat vector, or with `spatial` (conv only) the last feature map."""
    stack = [keras.Input(shape=input_shape)]
    if architecture == "mlp":
        stack.append(layers.Flatten())
        stack += [layers.Dense(units, activation="relu") for units in hidden_dims]
    else:
        stack += [
            layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu") for filters in hidden_dims
        ]
        if not spatial:
            stack.append(layers.Flatten())
    return keras.Sequential(stack, name=name)


def build_decoder(architecture, input_dim, output_shape, hidden_dims, name, spatial=False):
    """Decoder `z -> logits or means` shaped like the data.

    `z` is a vector of `input_dim` values, or with `spatial` (conv only) a map
    `(height / 2 ** L, width / 2 ** L, input_dim)`, `L = len(hidden_dims)`.
    """
    if architecture == "mlp":
        stack = [keras.Input(shape=(input_dim,))]
        stack += [layers.Dense(units, activation="relu") for units in reversed(hidden_dims)]
        stack.append(layers.Dense(math.prod(output_shape)))
        stack.append(layers.Reshape(output_shape))
        return keras.Sequential(stack, name=name)
    filters = tuple(reversed(hidden_dims))
    height, width = downsampled_shape(output_shape, len(filters))
    if spatial:
        # Mirrors the encoder's posterior head: a 3x3 conv from the latent map to the deepest level.
        stack = [keras.Input(shape=(height, width, input_dim))]
        stack.append(layers.Conv2D(filters[0], 3, padding="same", activation="relu"))
    else:
        stack = [keras.Input(shape=(input_dim,))]
        stack.append(layers.Dense(height * width * filters[0], activation="relu"))
        stack.append(layers.Reshape((height, width, filters[0])))
    stack += [layers.Conv2DTranspose(units, 4, strides=2, padding="same", activation="relu") for units in filters]
    stack.append(layers.Conv2D(output_shape[-1], 3, padding="same"))
    return keras.Sequential(stack, name=name)
