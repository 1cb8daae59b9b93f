"""Flow matching: a velocity network regressed on straight paths from noise to data, sampled by an ODE solver."""

import dataclasses

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.layers.timestep_embedding import TimestepEmbedding
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.diffusion.shared import ClassifierFreeGuidance
from artifex_keras.models.diffusion.shared import GuidedDiffusionFields
from artifex_keras.models.diffusion.shared import RescaleAndEMA
from artifex_keras.models.diffusion.shared import UNetFields
from artifex_keras.models.diffusion.shared import build_unet
from artifex_keras.models.diffusion.shared import validate_unet
from artifex_keras.models.registration import register_model
from artifex_keras.samplers.ode import ODEEulerSampler
from artifex_keras.samplers.ode import ODESampler

COUPLINGS = ("independent", "minibatch_ot")
TIME_SAMPLINGS = ("uniform", "logit_normal")
# The networks read `TIME_SCALE * t`: the timestep range their sinusoidal embeddings are made for.
TIME_SCALE = 1000.0
PAIR_KEYS = ("data", "noise")


@dataclasses.dataclass(frozen=True)
class FlowMatchingConfig(UNetFields, GuidedDiffusionFields):
    """Configuration of a `FlowMatching` model.

    Args:
        input_shape: `(features,)` (an MLP velocity network) or
            `(height, width, channels)` (a UNet; height and width divisible
            by `2 ** (len(channels) - 1)`).
        hidden_dims: units of the MLP's dense layers (vector data).
        sigma_min: width of the path at the data: `x_t = (1 - (1 - sigma_min) t) x0 + t x1`.
        coupling: how noise and data are paired in a batch: "independent"
            (conditional flow matching) or "minibatch_ot" (an optimal
            assignment within the batch, see `minibatch_ot_permutation`).
        ot_epsilon: entropic regularisation of the assignment, relative to
            the batch's mean squared distance.
        ot_iterations: Sinkhorn iterations of the assignment.
        timestep_sampling: "uniform" on [0, 1] or "logit_normal".
        logit_mean: mean of the logit-normal time distribution.
        logit_std: standard deviation of the logit-normal time distribution.
        rescale: the data lie in [0, 1] and are mapped to [-1, 1] for the
            flow; samples come back clipped to [0, 1]. None (the default):
            True for images `(height, width, channels)`, False for vectors.
        sampling_steps: steps of the default sampler, `ODEEulerSampler`.
        (other fields as in `UNetFields`, for images, and `GuidedDiffusionFields`)
    """

    input_shape: tuple = (2,)
    hidden_dims: tuple = (256, 256, 256)
    sigma_min: float = 0.0
    coupling: str = "independent"
    ot_epsilon: float = 0.05
    ot_iterations: int = 100
    timestep_sampling: str = "uniform"
    logit_mean: float = 0.0
    logit_std: float = 1.0
    rescale: bool | None = None

    def __post_init__(self):
        if self.rescale is None and isinstance(self.input_shape, (tuple, list)):
            object.__setattr__(self, "rescale", len(self.input_shape) == 3)
        super().__post_init__()

    def validate(self):
        self.check_int_tuple("input_shape")
        if len(self.input_shape) not in (1, 3):
            self._fail("input_shape", "(features,) or (height, width, channels)", self.input_shape)
        self.check_int_tuple("hidden_dims")
        if len(self.input_shape) == 3:
            validate_unet(self)
        self.check_number("sigma_min", low=0.0, high=1.0, high_inclusive=False)
        self.check_choice("coupling", COUPLINGS)
        self.check_number("ot_epsilon", low=0.0, low_inclusive=False)
        self.check_positive_int("ot_iterations")
        self.check_choice("timestep_sampling", TIME_SAMPLINGS)
        self.check_number("logit_mean")
        self.check_number("logit_std", low=0.0, low_inclusive=False)
        super().validate()


def minibatch_ot_permutation(noise, data, epsilon=0.05, iterations=100):
    """Indices `p` `(batch,)` such that `noise[p]` is paired with `data`: an assignment of small squared distance.

    Entropic optimal transport between the two batches (uniform weights,
    squared Euclidean cost divided by its mean, regularisation `epsilon`),
    solved by `iterations` log-domain Sinkhorn iterations, then rounded to a
    permutation greedily: noise points, the most decided first, each take
    the free data point their row of the plan weights most. With a small
    `epsilon` the plan is close to the exact assignment, which the rounding
    recovers when it is unambiguous (on 256 points of `eight_gaussians`, the
    mean squared pair distance is within 3% of the exact assignment's).
    Everything is `keras.ops`, so it runs inside the training step on every
    backend.

    Args:
        noise: `(batch, ...)` noise samples.
        data: `(batch, ...)` data samples, the same shape.
        epsilon: entropic regularisation relative to the mean cost.
        iterations: Sinkhorn iterations.

    Example:
    ```python
    permutation = minibatch_ot_permutation(noise, x)
    noise = ops.take(noise, permutation, axis=0)     # noise[i] now travels to x[i]
    ```

    Reference:
        Tong et al., "Improving and Generalizing Flow-Based Generative Models with Minibatch
        Optimal Transport", TMLR 2024; Pooladian et al., "Multisample Flow Matching", ICML 2023;
        Cuturi, "Sinkhorn Distances", NeurIPS 2013.
    """
    count = ops.shape(noise)[0]
    a = ops.reshape(ops.cast(noise, "float32"), (count, -1))
    b = ops.reshape(ops.cast(data, "float32"), (count, -1))
    cost = ops.sum(a * a, axis=1)[:, None] + ops.sum(b * b, axis=1)[None, :] - 2.0 * ops.matmul(a, ops.transpose(b))
    cost = ops.maximum(cost, 0.0)
    cost = ops.stop_gradient(cost / (ops.mean(cost) + 1e-12))
    scaled = cost / float(epsilon)

    def sinkhorn(_, potentials):
        # Log-domain updates of the dual potentials (divided by epsilon): the plan's rows, then its columns, sum to 1.
        f = -ops.logsumexp(potentials[1][None, :] - scaled, axis=1)
        g = -ops.logsumexp(f[:, None] - scaled, axis=0)
        return f, g

    zeros = ops.zeros((count,), dtype="float32")
    f, g = ops.fori_loop(0, int(iterations), sinkhorn, (zeros, zeros))
    log_plan = f[:, None] + g[None, :] - scaled
    # Noise points in order of how sure their plan row is; each takes the free data point it weights most.
    order = ops.cast(ops.argsort(-ops.max(log_plan, axis=1)), "int32")
    columns = ops.arange(count, dtype="int32")

    def pick(step, carry):
        free, permutation = carry
        i = ops.take(order, step)
        j = ops.cast(ops.argmax(ops.where(free, ops.take(log_plan, i, axis=0), float("-inf"))), "int32")
        chosen = ops.equal(columns, j)
        return ops.logical_and(free, ops.logical_not(chosen)), ops.where(chosen, i, permutation)

    _, permutation = ops.fori_loop(
        0, count, pick, (ops.ones((count,), dtype="bool"), ops.zeros((count,), dtype="int32"))
    )
    return ops.stop_gradient(permutation)


class _VelocityMLP(keras.layers.Layer):
    """`(x, t[, labels]) -> velocity` for vectors: dense layers with the time (and label) embedding at the input."""

    def __init__(self, features, hidden_dims, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        width = hidden_dims[0]
        self.time_embedding = TimestepEmbedding(width, frequency_dim=64, name="time_embedding")
        self.label_embedding = (
            None if num_classes is None else keras.layers.Embedding(num_classes, width, name="class_embedding")
        )
        self.input_dense = keras.layers.Dense(width, name="input")
        self.hidden = [keras.layers.Dense(units, name=f"hidden_{i}") for i, units in enumerate(hidden_dims[1:])]
        self.output_dense = keras.layers.Dense(features, name="output")
        self.features = features
        self.hidden_dims = tuple(hidden_dims)

    def build(self, x_shape=None, timesteps_shape=None, labels_shape=None):
        self.time_embedding.build((None,))
        if self.label_embedding is not None:
            self.label_embedding.build((None,))
        self.input_dense.build((None, self.features))
        for dense, units in zip(self.hidden, self.hidden_dims[:-1]):
            dense.build((None, units))
        self.output_dense.build((None, self.hidden_dims[-1]))

    def call(self, x, timesteps, labels=None, training=False):
        h = self.input_dense(x) + self.time_embedding(timesteps)
        if labels is not None:
            h = h + self.label_embedding(ops.cast(ops.reshape(labels, (-1,)), "int32"))
        h = ops.silu(h)
        for dense in self.hidden:
            h = ops.silu(dense(h))
        return self.output_dense(h)


@register_model("flow_matching")
class FlowMatching(RescaleAndEMA, ClassifierFreeGuidance, GenerativeModel):
    """Flow matching and rectified flow: a velocity field from noise (`t = 0`) to data (`t = 1`).

    Training pairs data `x1` with Gaussian noise `x0`, draws `t` (uniform or
    logit-normal), and regresses the network's velocity at
    `x_t = (1 - (1 - sigma_min) t) x0 + t x1` on `x1 - (1 - sigma_min) x0`
    (squared error, mean over the batch). With `sigma_min = 0` this is the
    linear interpolant of rectified flow. Noise and data are paired
    independently (conditional flow matching) or, with
    `coupling="minibatch_ot"`, by an optimal assignment within each batch
    (OT-CFM, straighter paths). `generate` integrates `dx/dt = v(x, t)`
    from `t = 0` to `1` with any `ODESampler` (Euler, Heun, midpoint, RK4),
    using the moving average of the weights (`ema_decay`). With
    `num_classes`, the model is class-conditional with classifier-free
    guidance `v_u + w (v_c - v_u)`, as `DDPM`.

    Rectified flow with reflow: train on data (1-rectified flow), then draw
    `pairs = model.reflow_pairs(n)`, a dict of noise and the model's ODE
    endpoints from it, and keep training the same model on those fixed
    pairs with `model.fit(pairs)` (2-rectified flow, whose paths are
    straighter, so a few Euler steps suffice); repeat for k-rectified flow.
    A conditional model takes `reflow_pairs(n, labels=y)` and
    `fit(pairs, y)`. Batches given as `{"data": x1, "noise": x0}` are used
    as they are, whatever `coupling` says.

    Args:
        config: a `FlowMatchingConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x = artifex_keras.data.load("eight_gaussians", limit=8192)[0]
    model = FlowMatching(input_shape=(2,), hidden_dims=(128, 128), coupling="minibatch_ot")
    model.compile()
    model.fit(x, epochs=20, batch_size=256)
    samples = model.generate(512, seed=0, sampler=artifex_keras.samplers.ODEHeunSampler(steps=20))
    pairs = model.reflow_pairs(8192, seed=1)             # {"noise": ..., "data": ...}
    model.fit(pairs, epochs=20, batch_size=256)          # 2-rectified flow
    straight = model.generate(512, sampler=artifex_keras.samplers.ODEEulerSampler(steps=2))
    ```

    Reference:
        Lipman et al., "Flow Matching for Generative Modeling", ICLR 2023;
        Liu, Gong & Liu, "Flow Straight and Fast: Learning to Generate and Transfer Data with
        Rectified Flow", ICLR 2023; Tong et al., "Improving and Generalizing Flow-Based Generative
        Models with Minibatch Optimal Transport", TMLR 2024.
    """

    config_class = FlowMatchingConfig
    family = "diffusion"
    metric_names = ("loss",)
    accepted_samplers = (ODESampler,)

    def build_networks(self):
        self.velocity_network = self._make_network("velocity_network")
        self.ema_velocity_network = self.moving_average(
            self.velocity_network, self._make_network, "ema_velocity_network"
        )

    def _make_network(self, name):
        config = self.config
        if len(config.input_shape) == 3:
            return build_unet(config, name)
        table = None if config.num_classes is None else config.num_classes + 1
        network = _VelocityMLP(config.input_shape[0], config.hidden_dims, num_classes=table, name=name)
        network.build()
        return network

    @property
    def sampling_network(self):
        """The network `generate` samples with: the moving average when there is one."""
        return self.velocity_network if self.ema_velocity_network is None else self.ema_velocity_network

    # Training ---------------------------------------------------------------------

    def unpack_batch(self, data):
        """`(data x1 in model space, labels or None, paired noise x0 or None)` from a training batch."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        noise = None
        if isinstance(x, dict):
            self._check_pair_keys(f"{type(self).__name__}.fit", x)
            x, noise = x["data"], ops.cast(x["noise"], "float32")
        return self.to_model_space(x), self.batch_condition(y), noise

    def _check_pair_keys(self, owner, x):
        if sorted(x) != sorted(PAIR_KEYS):
            raise ValueError(
                f"{owner}: paired batches must be a dict with keys 'data' and 'noise' (see reflow_pairs), "
                f"got keys {sorted(x)}"
            )

    def check_training_data(self, x, y, method):
        if isinstance(x, dict):
            owner = f"{type(self).__name__}.{method}"
            self._check_pair_keys(owner, x)
            validation.check_batch(owner, "x['noise']", x["noise"], self.data_shape)
            if validation.is_array_like(x["noise"]) and validation.is_array_like(x["data"]):
                if len(x["noise"]) != len(x["data"]):
                    raise ValueError(
                        f"{owner}: x['noise'] and x['data'] must hold as many examples, "
                        f"got {len(x['noise'])} and {len(x['data'])}"
                    )
            x = x["data"]
        super().check_training_data(x, y, method)

    def check_batch_spec(self, data, method):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(x, dict):
            owner = f"{type(self).__name__}.{method}"
            self._check_pair_keys(owner, x)
            validation.check_batch_spec(owner, "x['noise']", x["noise"], self.data_shape)
            data = (x["data"],) if y is None else (x["data"], y)
        super().check_batch_spec(data, method)

    def sample_times(self, batch_size):
        """Training times `(batch_size,)` in [0, 1]: uniform, or `sigmoid(m + s n)` (logit-normal)."""
        config = self.config
        if config.timestep_sampling == "uniform":
            return keras.random.uniform((batch_size,), seed=self.seed_generator)
        normal = keras.random.normal((batch_size,), seed=self.seed_generator)
        return ops.sigmoid(config.logit_mean + config.logit_std * normal)

    def flow_matching_loss(self, noise, data, t, labels=None, training=False):
        """Mean squared error between the network's velocity at `x_t` and the path's velocity.

        `x_t = (1 - (1 - sigma_min) t) x0 + t x1` and target `x1 - (1 - sigma_min) x0`, for noise `x0`
        and data `x1` in the model's space, times `t` `(batch,)` in [0, 1].
        """
        shrink = 1.0 - self.config.sigma_min
        noise, data = ops.convert_to_tensor(noise, "float32"), ops.convert_to_tensor(data, "float32")
        t = ops.reshape(ops.convert_to_tensor(t, "float32"), (-1,) + (1,) * (len(data.shape) - 1))
        x_t = (1.0 - shrink * t) * noise + t * data
        target = data - shrink * noise
        velocity = self.velocity_network(x_t, TIME_SCALE * ops.reshape(t, (-1,)), labels, training=training)
        return ops.mean(ops.square(ops.cast(velocity, "float32") - target))

    def compute_generative_loss(self, data, training=True):
        config = self.config
        x1, labels, x0 = self.unpack_batch(data)
        if x0 is None:
            x0 = keras.random.normal(ops.shape(x1), seed=self.seed_generator)
            if config.coupling == "minibatch_ot":
                permutation = minibatch_ot_permutation(x0, x1, config.ot_epsilon, config.ot_iterations)
                x0 = ops.take(x0, permutation, axis=0)
        t = self.sample_times(ops.shape(x1)[0])
        loss = self.flow_matching_loss(x0, x1, t, self.drop_condition(labels), training=training)
        return loss, {"loss": loss}

    def call(self, inputs, t=None, training=False):
        """The trained network's velocity at `inputs` (`x_t`, or `(x_t, labels)`), times `t` in [0, 1].

        `t` defaults to 0.5; `inputs` are in the model's space ([-1, 1] for rescaled data).
        """
        x, labels = self.call_inputs(inputs)
        if t is None:
            t = ops.full((ops.shape(x)[0],), 0.5)
        return self.velocity_network(x, TIME_SCALE * ops.cast(t, "float32"), labels, training=training)

    # Sampling ---------------------------------------------------------------------
    def default_sampler(self):
        return ODEEulerSampler(steps=self.config.sampling_steps)

    def velocity_function(self, labels=None, guidance_scale=None, network=None):
        """`velocity(x, t)` for the ODE samplers, `t` in [0, 1], with classifier-free guidance if asked.

        Args:
            labels: class ids `(batch,)` of a conditional model, or None.
            guidance_scale: None or `w` for `v_u + w (v_c - v_u)` (see `guided_function`).
            network: the network to call (default `sampling_network`).
        """
        network = network or self.sampling_network

        def timed(x, t, labels=None):
            return network(x, TIME_SCALE * t, labels)

        return self.guided_function(timed, labels, guidance_scale)

    def sample(
        self, num_samples, seed_generator, sampler=None, labels=None, guidance_scale=None, return_trajectory=False
    ):
        sampler = sampler or self.default_sampler()
        noise = keras.random.normal((num_samples, *self.config.input_shape), seed=seed_generator)
        result = sampler.sample(self.velocity_function(labels, guidance_scale), noise, return_trajectory)
        return self.samples_from_model_space(result, return_trajectory)

    def transport(self, noise, sampler=None, batch_size=1024, guidance_scale=None, **conditions):
        """The ODE endpoints (`t = 1`, data space) of NumPy `noise` (`t = 0`); deterministic.

        Args:
            noise: standard normal starting points `(n, *input_shape)`.
            sampler: an `ODESampler` (default `default_sampler()`).
            batch_size: most points per compiled call.
            guidance_scale: classifier-free guidance scale of a conditional model.
            **conditions: `labels=` for a class-conditional model.

        Example:
        ```python
        samples = model.transport(np.random.default_rng(0).standard_normal((16, 2)).astype("float32"))
        ```
        """
        owner = f"{type(self).__name__}.transport"
        noise = np.asarray(noise)
        validation.check_batch(owner, "noise", noise, self.data_shape)
        if not len(noise):
            raise ValueError(f"{owner}: `noise` must hold at least one point, got shape {noise.shape}")
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        sampler = self.resolve_sampler(owner, sampler)
        conditions = self.check_conditions(owner, conditions, len(noise))
        guidance_scale = self.check_guidance_scale(owner, guidance_scale)
        names = sorted(conditions)
        guided = guidance_scale is not None
        arrays = [noise.astype("float32")] + [conditions[name] for name in names]
        if guided:
            arrays.append(np.full((len(noise),), guidance_scale, dtype="float32"))

        def run(_, x, *values):
            labels = values[0] if names else None
            velocity = self.velocity_function(labels, values[-1] if guided else None)
            return self.from_model_space(sampler.sample(velocity, x))

        return self.map_compiled(("transport", sampler.cache_key(), tuple(names), guided), run, batch_size, *arrays)

    def reflow_pairs(self, num_samples, seed=None, sampler=None, batch_size=1024, guidance_scale=None, **conditions):
        """Fixed (noise, ODE endpoint) pairs from the current model, to train the next rectified flow on.

        Returns `{"noise": x0, "data": x1}` (NumPy), `x1 = transport(x0)`;
        `model.fit(pairs)` (with the same `labels` as `y` for a conditional
        model) trains on them. Integrate accurately (an `ODERK4Sampler` or
        many Euler steps) so the pairs are the flow's true endpoints.

        Args:
            num_samples: how many pairs.
            seed: an int makes the noise reproducible; None advances the model's seed generator.
            sampler: an `ODESampler` (default `default_sampler()`).
            batch_size: most points per compiled call.
            guidance_scale: classifier-free guidance scale of a conditional model.
            **conditions: `labels=` for a class-conditional model.

        Example:
        ```python
        pairs = model.reflow_pairs(8192, seed=0, sampler=ODERK4Sampler(steps=25))
        model.fit(pairs, epochs=10, batch_size=256)
        ```

        Reference:
            Liu, Gong & Liu, ICLR 2023 (Algorithm 1, reflow).
        """
        owner = f"{type(self).__name__}.reflow_pairs"
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        seed = validation.check_seed(owner, seed)
        conditions = self.check_conditions(owner, conditions, num_samples)
        generator = self.seed_generator if seed is None else keras.random.SeedGenerator(seed)
        noise = ops.convert_to_numpy(keras.random.normal((num_samples, *self.data_shape), seed=generator))
        data = self.transport(noise, sampler, batch_size, guidance_scale, **conditions)
        return {"noise": noise, "data": data}
