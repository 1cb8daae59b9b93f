"""Energy-based model trained by contrastive divergence with a persistent replay buffer."""

import dataclasses

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.config import Config
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.registration import register_model
from artifex_keras.samplers import LangevinSampler
from artifex_keras.samplers import MCMCSampler


@dataclasses.dataclass(frozen=True)
class EBMConfig(Config):
    """Configuration of an `EBM`.

    Args:
        input_shape: shape of one example: `(features,)` or `(height, width, channels)`.
        architecture: `"mlp"` (dense layers) or `"conv"` (stride-2 convolutions).
        hidden_dims: units per dense layer, or filters per conv level.
        value_range: `(low, high)`: chains start uniformly in this box and
            stay in it (clipped after every chain).
        buffer_size: states kept in the replay buffer.
        reinit_fraction: share of each batch's chains restarted from noise
            instead of the buffer.
        mcmc_steps: Langevin steps per training batch.
        mcmc_step_size: Langevin gradient step.
        mcmc_noise_scale: scale of the Langevin noise (1 is exact Langevin
            dynamics; EBM training often uses less).
        regularization: weight of `E(x)^2` on data and samples, which keeps
            energies near zero.
        generate_steps: Langevin steps of `generate`'s default sampler.
        generate_from: where `generate` starts its chains: `"noise"` or `"buffer"`.
        seed: seed of the model's random draws.
    """

    input_shape: tuple = (2,)
    architecture: str = "mlp"
    hidden_dims: tuple = (128, 128)
    value_range: tuple = (-4.0, 4.0)
    buffer_size: int = 8192
    reinit_fraction: float = 0.05
    mcmc_steps: int = 40
    mcmc_step_size: float = 0.01
    mcmc_noise_scale: float = 1.0
    regularization: float = 0.1
    generate_steps: int = 200
    generate_from: str = "noise"
    seed: int | None = None

    def validate(self):
        self.check_int_tuple("input_shape")
        self.check_choice("architecture", ("mlp", "conv"))
        self.check_int_tuple("hidden_dims")
        if self.architecture == "conv" and len(self.input_shape) != 3:
            self._fail("input_shape", "(height, width, channels) for architecture='conv'", self.input_shape)
        low_high = self.value_range
        if (
            not isinstance(low_high, tuple)
            or len(low_high) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in low_high)
            or not low_high[0] < low_high[1]
        ):
            self._fail("value_range", "a tuple (low, high) of numbers with low < high", low_high)
        self.check_positive_int("buffer_size")
        self.check_number("reinit_fraction", low=0.0, high=1.0)
        self.check_positive_int("mcmc_steps")
        self.check_number("mcmc_step_size", low=0.0, low_inclusive=False)
        self.check_number("mcmc_noise_scale", low=0.0)
        self.check_number("regularization", low=0.0)
        self.check_positive_int("generate_steps")
        self.check_choice("generate_from", ("noise", "buffer"))
        if self.seed is not None:
            self.check_non_negative_int("seed")


def _energy_network(config):
    layers = [keras.Input(tuple(config.input_shape))]
    if config.architecture == "conv":
        for filters in config.hidden_dims:
            layers.append(keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="swish"))
        layers.append(keras.layers.GlobalAveragePooling2D())
    else:
        layers.append(keras.layers.Flatten())
        layers.extend(keras.layers.Dense(units, activation="swish") for units in config.hidden_dims)
    layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers, name="energy_network")


@register_model("ebm")
class EBM(GenerativeModel):
    """Energy-based model: a density proportional to `exp(-E(x))`, sampled by Markov chains.

    Trained by contrastive divergence: lower the energy of data, raise the
    energy of samples that Langevin chains draw from the model. Chains
    persist in a replay buffer kept in the model's state (saved with it, and
    carried through the compiled training step); a share restarts from noise.
    `generate` takes any `MCMCSampler` (Langevin, MALA, HMC).

    Args:
        config: an `EBMConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    from artifex_keras.data.toy import eight_gaussians
    ebm = EBM(input_shape=(2,), hidden_dims=(64, 64))
    ebm.compile()
    ebm.fit(eight_gaussians(8192), epochs=5, batch_size=256)
    samples = ebm.generate(512, seed=0, sampler=MALASampler(steps=200, step_size=0.01))
    energies = ebm.energy(samples)
    ```

    Reference:
        Du & Mordatch, "Implicit Generation and Modeling with Energy-Based Models", 2019.
    """

    config_class = EBMConfig
    family = "ebm"
    metric_names = ("loss", "contrastive", "regularization", "energy_data", "energy_samples", "acceptance")
    accepted_samplers = (MCMCSampler,)

    def build_networks(self):
        config = self.config
        self.energy_network = _energy_network(config)
        low, high = (float(v) for v in config.value_range)
        self.replay_buffer = self.add_weight(
            shape=(config.buffer_size, *config.input_shape),
            initializer=keras.initializers.RandomUniform(low, high, seed=config.seed),
            trainable=False,
            name="replay_buffer",
        )
        self.training_sampler = LangevinSampler(
            steps=config.mcmc_steps, step_size=config.mcmc_step_size, noise_scale=config.mcmc_noise_scale
        )

    # Energies -----------------------------------------------------------------
    def energy_tensor(self, x):
        """Energies `(batch,)` of a backend batch."""
        return ops.squeeze(self.energy_network(ops.cast(x, "float32")), axis=-1)

    def energy(self, x, batch_size=1024):
        """Energies `E(x)` of NumPy examples, `(n,)`; lower is more likely.

        Example:
        ```python
        ebm.energy(x_test[:100])
        ```
        """
        x = self.check_examples("energy", x)
        return self.map_compiled("energy", lambda _, batch: self.energy_tensor(batch), batch_size, x)

    def check_examples(self, method, x):
        validation.check_batch(f"{type(self).__name__}.{method}", "x", x, self.data_shape)
        return np.asarray(x, np.float32)

    # Chains -------------------------------------------------------------------
    def _noise(self, count, seed_generator):
        low, high = (float(v) for v in self.config.value_range)
        return keras.random.uniform((count, *self.data_shape), low, high, seed=seed_generator)

    def _clip(self, x):
        low, high = (float(v) for v in self.config.value_range)
        return ops.clip(x, low, high)

    def _buffer_starts(self, count, seed_generator):
        index = keras.random.randint((count,), 0, self.config.buffer_size, seed=seed_generator)
        return index, ops.take(self.replay_buffer, index, axis=0)

    def default_sampler(self):
        config = self.config
        return LangevinSampler(
            steps=config.generate_steps, step_size=config.mcmc_step_size, noise_scale=config.mcmc_noise_scale
        )

    def sample(self, num_samples, seed_generator, sampler=None):
        sampler = sampler or self.default_sampler()
        if self.config.generate_from == "buffer":
            _, start = self._buffer_starts(num_samples, seed_generator)
        else:
            start = self._noise(num_samples, seed_generator)
        x, _ = sampler.run(self.energy_tensor, start, seed_generator)
        return self._clip(x)

    def run_chains(self, x, sampler=None, seed=None, batch_size=1024):
        """Run `sampler` (default: `generate`'s) from the states `x`; returns `(states, acceptance_rate)`.

        Example:
        ```python
        refined, acceptance = ebm.run_chains(noisy_images, sampler=MALASampler(steps=50, step_size=1e-3))
        ```
        """
        owner = f"{type(self).__name__}.run_chains"
        x = self.check_examples("run_chains", x)
        sampler = self.resolve_sampler(owner, sampler)
        seed = validation.check_seed(owner, seed)
        generator = None if seed is None else keras.random.SeedGenerator(seed)

        def chains(seed_generator, batch):
            states, acceptance = sampler.run(self.energy_tensor, batch, seed_generator)
            return self._clip(states), ops.broadcast_to(acceptance, (ops.shape(batch)[0],))

        states, acceptance = self.map_compiled(
            ("chains", sampler.cache_key()), chains, batch_size, x, seed_generator=generator
        )
        return states, float(np.mean(acceptance))

    # Training -----------------------------------------------------------------
    def compute_generative_loss(self, data, training=True):
        x = ops.cast(data[0] if isinstance(data, (tuple, list)) else data, "float32")
        count = ops.shape(x)[0]
        index, starts = self._buffer_starts(count, self.seed_generator)
        restart = keras.random.uniform((count,), seed=self.seed_generator) < self.config.reinit_fraction
        restart = ops.reshape(restart, (-1,) + (1,) * len(self.data_shape))
        starts = ops.where(restart, self._noise(count, self.seed_generator), starts)
        negatives, acceptance = self.training_sampler.run(self.energy_tensor, starts, self.seed_generator)
        negatives = ops.stop_gradient(self._clip(negatives))
        if training:
            self.replay_buffer.assign(ops.scatter_update(self.replay_buffer, ops.expand_dims(index, -1), negatives))
        energy_data = self.energy_tensor(x)
        energy_samples = self.energy_tensor(negatives)
        contrastive = ops.mean(energy_data) - ops.mean(energy_samples)
        regularization = self.config.regularization * (
            ops.mean(ops.square(energy_data)) + ops.mean(ops.square(energy_samples))
        )
        loss = contrastive + regularization
        return loss, {
            "loss": loss,
            "contrastive": contrastive,
            "regularization": regularization,
            "energy_data": ops.mean(energy_data),
            "energy_samples": ops.mean(energy_samples),
            "acceptance": acceptance,
        }

    def call(self, inputs, training=False):
        return self.energy_tensor(inputs)
