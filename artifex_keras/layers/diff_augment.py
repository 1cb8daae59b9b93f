"""DiffAugment: differentiable colour, translation and cutout augmentation for data-efficient GAN training."""

import keras
from keras import ops

POLICIES = ("color", "translation", "cutout")


@keras.saving.register_keras_serializable(package="artifex_keras")
class DiffAugment(keras.layers.Layer):
    """Random augmentations that gradients flow through, applied to real and generated images alike.

    Each call draws fresh parameters per example from the layer's
    `SeedGenerator` and applies, in order, the policies asked for:

    - `"color"`: brightness `+ U(-0.5, 0.5)`, saturation (scale around the
      per-pixel channel mean by `U(0, 2)`), contrast (scale around the
      image mean by `U(0.5, 1.5)`);
    - `"translation"`: shift by up to `translation_ratio` of the height
      and width (whole pixels), filling with zeros;
    - `"cutout"`: zero one square of `cutout_ratio` of the size at a random
      position (it may overlap the border).

    Inputs are `(batch, height, width, channels)` images. `augment(x,
    parameters)` applies given parameters, so the same draw can be reused.

    Args:
        policy: a tuple of policy names from `POLICIES`.
        translation_ratio: largest shift as a fraction of the image size.
        cutout_ratio: side of the cut-out square as a fraction of the image size.
        seed: seed of the layer's `SeedGenerator`.

    Example:
    ```python
    augment = DiffAugment(("color", "translation", "cutout"), seed=0)
    logits = discriminator(augment(images))
    ```

    Reference:
        Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020.
    """

    def __init__(self, policy=POLICIES, translation_ratio=0.125, cutout_ratio=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        policy = tuple(policy) if isinstance(policy, (list, tuple)) else policy
        if not isinstance(policy, tuple) or any(name not in POLICIES for name in policy):
            raise ValueError(f"DiffAugment: `policy` must be a tuple of names from {POLICIES}, got {policy!r}")
        if len(set(policy)) != len(policy):
            raise ValueError(f"DiffAugment: `policy` must not repeat a name, got {policy!r}")
        for name, value in (("translation_ratio", translation_ratio), ("cutout_ratio", cutout_ratio)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"DiffAugment: `{name}` must be a number in [0, 1], got {value!r}")
        self.policy = policy
        self.translation_ratio = float(translation_ratio)
        self.cutout_ratio = float(cutout_ratio)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _check(self, inputs):
        if len(inputs.shape) != 4 or inputs.shape[1] is None or inputs.shape[2] is None:
            raise ValueError(
                f"DiffAugment: inputs must be images (batch, height, width, channels), got shape {tuple(inputs.shape)}"
            )

    def _sizes(self, height, width):
        shift = (int(height * self.translation_ratio + 0.5), int(width * self.translation_ratio + 0.5))
        cut = (int(height * self.cutout_ratio + 0.5), int(width * self.cutout_ratio + 0.5))
        return shift, cut

    def draw_parameters(self, batch_size, height, width, seed_generator=None):
        """A dict of per-example random parameters for `augment` (drawn from `seed_generator` or the layer's)."""
        seed = self.seed_generator if seed_generator is None else seed_generator
        (shift_h, shift_w), (cut_h, cut_w) = self._sizes(height, width)
        params = {}

        def integers(low, high):
            # Uniform ints in [low, high], drawn as floats so every backend agrees.
            draw = keras.random.uniform((batch_size,), seed=seed)
            return ops.cast(ops.floor(draw * (high - low + 1)), "int32") + low

        if "color" in self.policy:
            params["brightness"] = keras.random.uniform((batch_size,), -0.5, 0.5, seed=seed)
            params["saturation"] = keras.random.uniform((batch_size,), 0.0, 2.0, seed=seed)
            params["contrast"] = keras.random.uniform((batch_size,), 0.5, 1.5, seed=seed)
        if "translation" in self.policy:
            params["shift_y"] = integers(-shift_h, shift_h)
            params["shift_x"] = integers(-shift_w, shift_w)
        if "cutout" in self.policy:
            params["cutout_y"] = integers(0, height + (1 - cut_h % 2) - 1)
            params["cutout_x"] = integers(0, width + (1 - cut_w % 2) - 1)
        return params

    def augment(self, inputs, params):
        """Apply the policies with the given `params` (from `draw_parameters`)."""
        x = inputs
        dtype = x.dtype
        height, width = x.shape[1], x.shape[2]

        def per_example(value):
            return ops.reshape(ops.cast(value, dtype), (-1, 1, 1, 1))

        if "color" in self.policy:
            x = x + per_example(params["brightness"])
            channel_mean = ops.mean(x, axis=3, keepdims=True)
            x = (x - channel_mean) * per_example(params["saturation"]) + channel_mean
            image_mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
            x = (x - image_mean) * per_example(params["contrast"]) + image_mean
        if "translation" in self.policy:
            x = _translate(x, params["shift_y"], params["shift_x"], height, width)
        if "cutout" in self.policy:
            (_, _), (cut_h, cut_w) = self._sizes(height, width)
            rows = ops.reshape(ops.arange(height, dtype="int32"), (1, height, 1, 1))
            cols = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, width, 1))
            top = ops.reshape(params["cutout_y"], (-1, 1, 1, 1)) - cut_h // 2
            left = ops.reshape(params["cutout_x"], (-1, 1, 1, 1)) - cut_w // 2
            inside = (rows >= top) & (rows < top + cut_h) & (cols >= left) & (cols < left + cut_w)
            x = x * ops.cast(ops.logical_not(inside), dtype)
        return x

    def call(self, inputs):
        self._check(inputs)
        if not self.policy:
            return inputs
        params = self.draw_parameters(ops.shape(inputs)[0], inputs.shape[1], inputs.shape[2])
        return self.augment(inputs, params)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "policy": list(self.policy),
                "translation_ratio": self.translation_ratio,
                "cutout_ratio": self.cutout_ratio,
                "seed": self.seed,
            }
        )
        return config


def _translate(x, shift_y, shift_x, height, width):
    """`out[b, i, j] = x[b, i - shift_y[b], j - shift_x[b]]`, zero where that falls outside the image."""
    channels = x.shape[3]
    rows = ops.reshape(ops.arange(height, dtype="int32"), (1, height, 1)) - ops.reshape(shift_y, (-1, 1, 1))
    cols = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, width)) - ops.reshape(shift_x, (-1, 1, 1))
    valid = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    index = ops.clip(rows, 0, height - 1) * width + ops.clip(cols, 0, width - 1)
    flat = ops.reshape(x, (-1, height * width, channels))
    index = ops.reshape(index, (-1, height * width, 1))
    gathered = ops.take_along_axis(flat, ops.repeat(index, channels, axis=2), axis=1)
    out = ops.reshape(gathered, (-1, height, width, channels))
    return out * ops.cast(ops.expand_dims(valid, -1), x.dtype)
