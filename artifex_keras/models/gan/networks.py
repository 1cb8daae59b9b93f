"""Generator and discriminator networks of the GAN family: MLPs for vector data, DCGAN-style convnets for images."""

import math

import keras
from keras import layers

from artifex_keras.layers.spectral_normalization import SpectralNormalization


def check_generator_shape(owner, input_shape, generator_dims):
    """The conv generator doubles its resolution `len(generator_dims)` times: sizes must divide evenly."""
    if len(input_shape) != 3:
        raise ValueError(
            f"{owner}: `input_shape` must be (height, width, channels) for the conv architecture, got {input_shape}"
        )
    factor = 2 ** len(generator_dims)
    if input_shape[0] % factor or input_shape[1] % factor:
        raise ValueError(
            f"{owner}: `input_shape` height and width must be divisible by {factor} "
            f"(2 ** len(generator_dims)) for the conv architecture, got {input_shape}"
        )


def build_generator(architecture, input_dim, output_shape, hidden_dims, output_activation, name):
    """`z -> x`: dense layers (`"mlp"`) or a dense projection and stride-2 transposed convolutions (`"conv"`)."""
    stack = [keras.Input(shape=(input_dim,))]
    if architecture == "mlp":
        stack += [layers.Dense(units, activation="relu") for units in hidden_dims]
        stack.append(layers.Dense(math.prod(output_shape), activation=output_activation))
        stack.append(layers.Reshape(output_shape))
    else:
        # Radford et al. 2016: batch-normalised ReLU blocks, no pooling.
        factor = 2 ** len(hidden_dims)
        height, width = output_shape[0] // factor, output_shape[1] // factor
        stack += [
            layers.Dense(height * width * hidden_dims[0], use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Reshape((height, width, hidden_dims[0])),
        ]
        for filters in hidden_dims[1:]:
            stack += [
                layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False),
                layers.BatchNormalization(),
                layers.ReLU(),
            ]
        stack.append(
            layers.Conv2DTranspose(output_shape[-1], 4, strides=2, padding="same", activation=output_activation)
        )
    return keras.Sequential(stack, name=name)


def build_discriminator_features(architecture, input_shape, hidden_dims, spectral_norm, name):
    """`x -> features` (flat): LeakyReLU dense layers or stride-2 convolutions, without batch norm.

    No batch normalisation, so each example's output depends on that
    example alone, as the gradient penalties require.
    """

    def wrap(layer):
        return SpectralNormalization(layer) if spectral_norm else layer

    stack = [keras.Input(shape=input_shape)]
    if architecture == "mlp":
        stack.append(layers.Flatten())
        for units in hidden_dims:
            stack += [wrap(layers.Dense(units)), layers.LeakyReLU(0.2)]
    else:
        for filters in hidden_dims:
            stack += [wrap(layers.Conv2D(filters, 4, strides=2, padding="same")), layers.LeakyReLU(0.2)]
        stack.append(layers.Flatten())
    return keras.Sequential(stack, name=name)


def build_head(input_dim, spectral_norm, name):
    """`features -> one score per example`."""
    dense = layers.Dense(1)
    return keras.Sequential(
        [keras.Input(shape=(input_dim,)), SpectralNormalization(dense) if spectral_norm else dense], name=name
    )
