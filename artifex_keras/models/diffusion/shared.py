"""What the diffusion family's models share: config fields, the UNet from them, and classifier-free guidance.

`UNetFields` and `GuidedDiffusionFields` are the config fields the models
have in common, each with its documentation; a model's config inherits them
(and overrides a default where the model's differs).
`validate_unet(config)` and `build_unet(config, name)` read the
`UNetFields` of a config, its `input_shape` and its `num_classes`;
a `(length, channels)` shape gets a `UNet1D`, an image shape a `UNet2D`.
`ClassifierFreeGuidance` is the mixin of a model whose network takes a
condition, class labels (plus one "no label" class) or a context sequence
(whose null is zeros): condition dropout in training, the guided prediction,
and a `generate` with `guidance_scale=`, `return_trajectory=` and `progress=`.
`RescaleAndEMA` maps [0, 1] data to the model's [-1, 1] and back, and
keeps the moving average of the weights.

Example:
```python
@dataclasses.dataclass(frozen=True)
class MyDiffusionConfig(UNetFields, GuidedDiffusionFields):
    input_shape: tuple = (32, 32, 3)

    def validate(self):
        self.check_int_tuple("input_shape", length=3)
        validate_unet(self)
        super().validate()


class MyDiffusion(RescaleAndEMA, ClassifierFreeGuidance, GenerativeModel):
    config_class = MyDiffusionConfig

    def build_networks(self):
        self.network = build_unet(self.config, "network")
        build = functools.partial(build_unet, self.config)
        self.ema_network = self.moving_average(self.network, build, "ema_network")
```
"""

import dataclasses
import math
import numbers

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.conditioning import ClassLabels
from artifex_keras.conditioning import ContextSequence
from artifex_keras.config import Config
from artifex_keras.ema import ExponentialMovingAverage
from artifex_keras.layers.unet import UNet2D
from artifex_keras.layers.unet1d import UNet1D
from artifex_keras.models.base import chunk_size
from artifex_keras.samplers import schedules


@dataclasses.dataclass(frozen=True)
class UNetFields(Config):
    """The fields of a config whose network is a UNet: `validate_unet` checks them, `build_unet` reads them.

    Args:
        channels: UNet channels per level.
        num_res_blocks: residual blocks per UNet level.
        attention_levels: UNet levels with self-attention.
        head_dim: channels per attention head.
        num_groups: groups of the UNet's group normalisations.
        dropout: dropout rate in the UNet's residual blocks.
    """

    channels: tuple = (64, 128, 128)
    num_res_blocks: int = 2
    attention_levels: tuple = (1,)
    head_dim: int = 32
    num_groups: int = 32
    dropout: float = 0.0


@dataclasses.dataclass(frozen=True)
class GuidedDiffusionFields(Config):
    """The fields that `RescaleAndEMA` and `ClassifierFreeGuidance` read, with the default sampler's steps and the seed.

    Args:
        ema_decay: decay of the moving average of the weights that `generate`
            uses, warmed up as `min(ema_decay, (1 + n) / (10 + n))` at the
            n-th training step; None samples with the trained weights themselves.
        num_classes: number of class labels for a class-conditional model
            (train on `(x, labels)`, `generate(n, labels=...)`), or None.
        class_dropout: probability that a training label is replaced by the
            "no label" class, so the same network also learns the
            unconditional model classifier-free guidance needs.
        guidance_scale: default classifier-free guidance scale of `generate`
            for a conditional model (None: the conditional model alone).
        rescale: the data lie in [0, 1] and are mapped to [-1, 1] for the
            model; samples come back clipped to [0, 1].
        sampling_steps: steps of the default sampler (`default_sampler()`).
        seed: seed of the model's random draws.
    """

    ema_decay: float | None = 0.999
    num_classes: int | None = None
    class_dropout: float = 0.1
    guidance_scale: float | None = None
    rescale: bool = True
    sampling_steps: int = 50
    seed: int | None = None

    def validate(self):
        if self.ema_decay is not None:
            self.check_number("ema_decay", low=0.0, high=1.0, high_inclusive=False)
        self.check_positive_int("num_classes", allow_none=True)
        self.check_number("class_dropout", low=0.0, high=1.0, high_inclusive=False)
        if self.guidance_scale is not None:
            self.check_number("guidance_scale")
        if not isinstance(self.rescale, bool):
            self._fail("rescale", "a bool", self.rescale)
        self.check_positive_int("sampling_steps")
        if self.seed is not None:
            self.check_non_negative_int("seed")


def validate_unet(config, shape=None):
    """Check the `UNetFields` of `config`, naming the field in every error.

    `shape` is what the UNet runs on when it is not `config.input_shape` (a
    latent model's latent shape): a height or width the UNet's levels cannot
    halve then fails on `channels`.
    """
    config.check_int_tuple("channels")
    multiple = 2 ** (len(config.channels) - 1)
    if shape is None:
        spatial = config.input_shape[:-1]
        if any(size % multiple for size in spatial):
            sizes = "length is" if len(spatial) == 1 else "height and width are"
            config._fail(
                "input_shape",
                f"a shape whose {sizes} divisible by 2 ** (len(channels) - 1) = {multiple}",
                config.input_shape,
            )
    elif shape[0] % multiple or shape[1] % multiple:
        config._fail(
            "channels",
            f"levels that fit the latent {tuple(shape)}: its height and width must be divisible by "
            f"2 ** (len(channels) - 1) = {multiple}",
            config.channels,
        )
    config.check_positive_int("num_res_blocks")
    if not isinstance(config.attention_levels, tuple) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(config.channels)
        for i in config.attention_levels
    ):
        config._fail(
            "attention_levels", f"a tuple of level indices in [0, {len(config.channels) - 1}]", config.attention_levels
        )
    config.check_positive_int("head_dim")
    config.check_positive_int("num_groups")
    for width in config.channels:
        if width % config.num_groups:
            config._fail("channels", f"channel counts divisible by num_groups ({config.num_groups})", config.channels)
    for level in config.attention_levels:
        if config.channels[level] % config.head_dim:
            config._fail(
                "head_dim", f"a divisor of the attention levels' channels ({config.channels[level]})", config.head_dim
            )
    config.check_number("dropout", low=0.0, high=1.0, high_inclusive=False)


def build_unet(config, name, shape=None, context_dim=None):
    """A built UNet from the config's UNet fields, with one extra "no label" class when conditional.

    `shape` is the `(height, width, channels)` (a `UNet2D`) or `(length,
    channels)` (a `UNet1D`) it runs on (default `config.input_shape`);
    `context_dim` adds cross-attention to a context of that many features.
    """
    shape = tuple(config.input_shape if shape is None else shape)
    # One extra class, the last id, stands for "no label" (classifier-free guidance).
    table = None if config.num_classes is None else config.num_classes + 1
    network = UNet1D if len(shape) == 2 else UNet2D
    unet = network(
        out_channels=shape[-1],
        channels=config.channels,
        num_res_blocks=config.num_res_blocks,
        attention_levels=config.attention_levels,
        head_dim=config.head_dim,
        num_groups=config.num_groups,
        dropout=config.dropout,
        num_classes=table,
        context_dim=context_dim,
        name=name,
    )
    # Build now: on JAX, variables created inside a traced step are lost.
    context = None if context_dim is None else (None, None, context_dim)
    unet.build((None, *shape), (None,), None if table is None else (None,), context)
    return unet


class ClassifierFreeGuidance:
    """Mixin of a `GenerativeModel` with an optional condition and classifier-free guidance.

    The condition is class labels (the config's `num_classes`, dropped with
    probability `class_dropout`; labels in `[0, num_classes]`, the last id
    meaning "no label") or, for a model whose `condition_spec()` is a
    `ContextSequence`, a context `(batch, tokens, context_dim)` whose null is
    zeros (dropped with probability `condition_dropout`). The network takes it
    by the spec's argument name: `network(x, t, labels=...)` or
    `network(x, t, context=...)`. `unpack_batch` reads a training batch
    `x` or `(x, condition)` (the data through `to_model_space`) and
    `call_inputs` a model call's inputs. The model calls `drop_condition` on
    its training conditions, builds its sampling function with
    `guided_function`, and implements `sample(num_samples, seed_generator,
    sampler=None, labels=None, guidance_scale=None, return_trajectory=False)`
    (`context=` for a context).

    Reference:
        Ho & Salimans, "Classifier-Free Diffusion Guidance", 2022.
    """

    # What `guidance_scale` needs, in its error message.
    guidance_requirement = "a class-conditional {name} (num_classes set)"

    @property
    def null_label(self):
        """The class id of "no label", the unconditional model of classifier-free guidance."""
        return self.config.num_classes

    def condition_spec(self):
        return None if self.config.num_classes is None else ClassLabels(self.config.num_classes)

    @property
    def condition_dropout(self):
        """Probability that a training condition is replaced by the null condition."""
        return self.config.class_dropout

    def condition_tensor(self, condition):
        """`condition` as the network takes it: int32 labels `(batch,)`, or a float32 context."""
        if isinstance(self.condition_spec(), ContextSequence):
            return ops.cast(condition, "float32")
        return ops.cast(ops.reshape(condition, (-1,)), "int32")

    def null_condition(self, condition):
        """The unconditional stand-in for a batch of conditions: "no label" for each label, or a zero context."""
        if isinstance(self.condition_spec(), ContextSequence):
            return ops.zeros_like(condition)
        return ops.full(ops.shape(condition), self.null_label, dtype="int32")

    def network_arguments(self, condition):
        """The keyword arguments that pass `condition` (a tensor, or None) to the network."""
        return {} if condition is None else {self.condition_spec().argument: condition}

    def batch_condition(self, y):
        """The condition of a training batch, `y` as the network takes it; None for an unconditional model."""
        spec = self.condition_spec()
        if spec is None:
            return None
        if y is None:
            raise ValueError(f"{type(self).__name__}: batches must be (x, {spec.argument}) pairs, got x alone")
        return self.condition_tensor(y)

    def unpack_batch(self, data):
        """`(x in model space, condition or None)` from a training batch."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.to_model_space(x), self.batch_condition(y)

    def call_inputs(self, inputs):
        """`(x, condition)` of a model call's `inputs`, `x` or `(x, condition)`: float32 `x`, the condition or None."""
        x, condition = (inputs, None) if not isinstance(inputs, (tuple, list)) else (inputs[0], inputs[1])
        return ops.cast(x, "float32"), None if condition is None else self.condition_tensor(condition)

    def drop_condition(self, condition):
        """Training conditions, each replaced by the null condition with probability `condition_dropout`."""
        if condition is None or self.condition_dropout <= 0:
            return condition
        batch = ops.shape(condition)[:1]
        dropped = keras.random.uniform(batch, seed=self.seed_generator) < self.condition_dropout
        dropped = ops.reshape(dropped, (-1,) + (1,) * (len(condition.shape) - 1))
        return ops.where(dropped, self.null_condition(condition), condition)

    def guided_function(self, network, condition=None, guidance_scale=None):
        """`f(x, t)`: `network`'s output, with classifier-free guidance if asked.

        Args:
            network: `network(x, t)`, or `network(x, t, labels=...)` / `network(x, t, context=...)`.
            condition: class ids `(batch,)` or a context of a conditional model, or None.
            guidance_scale: None (the conditional network alone) or `w` (a
                number, or a tensor `(batch,)`) for `out_u + w (out_c - out_u)`;
                `w = 1` is the conditional model, `w = 0` the unconditional one.
        """
        if condition is None:
            return lambda x, t: network(x, t)
        condition = self.condition_tensor(condition)
        if guidance_scale is None:
            return lambda x, t: network(x, t, **self.network_arguments(condition))
        both_conditions = self.network_arguments(ops.concatenate([condition, self.null_condition(condition)], 0))

        def guided(x, t):
            both = network(ops.concatenate([x, x], 0), ops.concatenate([t, t], 0), **both_conditions)
            conditional, unconditional = ops.split(ops.cast(both, "float32"), 2, axis=0)
            scale = schedules.broadcast_to(ops.convert_to_tensor(guidance_scale, "float32"), conditional)
            return unconditional + scale * (conditional - unconditional)

        return guided

    def generate(
        self,
        num_samples,
        seed=None,
        batch_size=1024,
        sampler=None,
        guidance_scale=None,
        return_trajectory=False,
        progress=False,
        **conditions,
    ):
        """Draw `num_samples` samples; returns NumPy `(num_samples, *input_shape)`.

        Args:
            num_samples: how many samples.
            seed: an int makes the draw reproducible; None advances the model's seed generator.
            batch_size: most samples per compiled call.
            sampler: a sampler the model accepts (or its name or config);
                default `default_sampler()`.
            guidance_scale: classifier-free guidance scale of a conditional model
                (default the config's; None is the conditional model alone).
            return_trajectory: also return the states from the noise to the
                samples, `(steps + 1, num_samples, *input_shape)` (in data
                space, not clipped).
            progress: show a `keras.utils.Progbar`. On PyTorch the sampling
                loop steps in Python and the bar moves once per sampling step
                (of every batch); on JAX and TensorFlow the loop is one
                compiled call per batch, and the bar moves once per batch.
                The samples are the same either way.
            **conditions: `labels=` for a class-conditional model, `context=`
                for a context-conditional one.

        Example:
        ```python
        model.generate(16, seed=0)
        model.generate(10, labels=np.arange(10), guidance_scale=3.0)
        samples, trajectory = model.generate(4, return_trajectory=True)
        model.generate(64, progress=True)
        ```
        """
        owner = f"{type(self).__name__}.generate"
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        seed = validation.check_seed(owner, seed)
        sampler = self.resolve_sampler(owner, sampler)
        conditions = self.check_conditions(owner, conditions, num_samples)
        guidance_scale = self.check_guidance_scale(owner, guidance_scale)
        if not isinstance(return_trajectory, bool):
            raise ValueError(f"{owner}: `return_trajectory` must be a bool, got {return_trajectory!r}")
        if not isinstance(progress, bool):
            raise ValueError(f"{owner}: `progress` must be a bool, got {progress!r}")
        generator = self.seed_generator if seed is None else keras.random.SeedGenerator(seed)
        size = chunk_size(num_samples, batch_size)
        names = sorted(conditions)
        guided = guidance_scale is not None
        # The guidance scale is an input of the compiled call: one trace serves every scale.
        key = ("sample", size, sampler.cache_key(), tuple(names), guided, return_trajectory)

        def draw(g, *values):
            given = dict(zip(names, values[: len(names)]))
            return self.sample(
                size,
                g,
                sampler=sampler,
                guidance_scale=values[-1] if guided else None,
                return_trajectory=return_trajectory,
                **given,
            )

        extra = (np.full((size,), guidance_scale, dtype="float32"),) if guided else ()
        samples, trajectories = [], []
        for result, count in self.draw_in_chunks(key, draw, num_samples, size, generator, conditions, progress, extra):
            if return_trajectory:
                samples.append(keras.ops.convert_to_numpy(result[0])[:count])
                trajectories.append(keras.ops.convert_to_numpy(result[1])[:, :count])
            else:
                samples.append(keras.ops.convert_to_numpy(result)[:count])
        samples = np.concatenate(samples, axis=0)
        return (samples, np.concatenate(trajectories, axis=1)) if return_trajectory else samples

    def check_guidance_scale(self, owner, guidance_scale):
        """`guidance_scale` (default the config's) as a float, or None; only a conditional model takes one."""
        if guidance_scale is None:
            guidance_scale = self.config.guidance_scale
            if guidance_scale is None:
                return None
        if self.condition_spec() is None:
            needs = self.guidance_requirement.format(name=type(self).__name__)
            raise ValueError(f"{owner}: `guidance_scale` needs {needs}, got {guidance_scale!r}")
        if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, numbers.Real):
            raise ValueError(f"{owner}: `guidance_scale` must be a finite number or None, got {guidance_scale!r}")
        if not math.isfinite(guidance_scale):
            raise ValueError(f"{owner}: `guidance_scale` must be a finite number or None, got {guidance_scale!r}")
        return float(guidance_scale)


class RescaleAndEMA:
    """Mixin: data in [0, 1] mapped to [-1, 1] when `config.rescale`, and a moving average of the weights.

    The model builds its average in `build_networks` with `moving_average`,
    which sets `self.ema` (an `ExponentialMovingAverage`, or None); it is
    updated after every training step, warmed up by the optimizer's step count
    (a run resumed with a fresh optimizer warms it up again).
    """

    def moving_average(self, network, build, name):
        """`build(name)`, a network that holds the moving average of `network`'s weights; None without `ema_decay`."""
        self.ema = None
        if self.config.ema_decay is None:
            return None
        average = build(name)
        self.ema = ExponentialMovingAverage(network, average, decay=self.config.ema_decay)
        self.ema.copy()
        return average

    def after_training_step(self):
        if self.ema is not None:
            # The optimizer has counted this step: its iterations number the updates, this one included.
            self.ema.update(step=self.optimizer.iterations)

    @property
    def data_range(self):
        return (0.0, 1.0) if self.config.rescale else None

    def to_model_space(self, x):
        """Data `x` as the network sees it: float32, in [-1, 1] when `config.rescale`."""
        x = ops.cast(x, "float32")
        return 2.0 * x - 1.0 if self.config.rescale else x

    def from_model_space(self, x, clip=True):
        """The inverse of `to_model_space`, clipped to [0, 1] unless `clip=False`."""
        if not self.config.rescale:
            return x
        x = (x + 1.0) / 2.0
        return ops.clip(x, 0.0, 1.0) if clip else x

    def samples_from_model_space(self, result, return_trajectory):
        """A sampler's `result` in data space: the samples, or `(samples, trajectory)` when `return_trajectory`."""
        if not return_trajectory:
            return self.from_model_space(result)
        samples, trajectory = result
        return self.from_model_space(samples), self.trajectory_from_model_space(trajectory)

    def trajectory_from_model_space(self, trajectory):
        """The states of a sampling trajectory as `generate` returns them: in data space, not clipped."""
        return self.from_model_space(trajectory, clip=False)
