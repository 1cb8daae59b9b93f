"""A deterministic two-phase, two-optimizer model (critic then generator) for trainer tests."""

import dataclasses

import keras
from keras import ops

from artifex_keras.backend import Phase
from artifex_keras.backend import input_gradient
from artifex_keras.config import Config
from artifex_keras.models.base import GenerativeModel


@dataclasses.dataclass(frozen=True)
class TwoPhaseConfig(Config):
    input_shape: tuple = (4,)
    units: int = 8
    penalty_weight: float = 1.0
    seed: int = 0


@keras.saving.register_keras_serializable(package="artifex_keras_tests")
class TwoPhaseModel(GenerativeModel):
    """Critic phase with a gradient penalty, then a generator phase."""

    config_class = TwoPhaseConfig
    metric_names = ("critic_loss", "generator_loss", "penalty")

    def build_networks(self):
        width = self.config.input_shape[0]
        self.critic = keras.Sequential(
            [keras.Input((width,)), keras.layers.Dense(self.config.units, activation="tanh"), keras.layers.Dense(1)],
            name="critic",
        )
        self.generator = keras.Sequential([keras.Input((width,)), keras.layers.Dense(width)], name="generator")

    def training_phases(self):
        return [
            Phase("critic", self.critic_loss, self.critic.trainable_variables),
            Phase("generator", self.generator_loss, self.generator.trainable_variables),
        ]

    def default_optimizers(self):
        return {"critic": keras.optimizers.Adam(1e-2), "generator": keras.optimizers.Adam(1e-2)}

    def _fake(self, x):
        return self.generator(ops.tanh(x + 1.0))

    def call(self, inputs, training=False):
        return self._fake(ops.cast(inputs, "float32"))

    def critic_loss(self, data, training=True):
        x = ops.cast(data[0] if isinstance(data, tuple) else data, "float32")
        fake = ops.stop_gradient(self._fake(x))
        between = 0.5 * (x + fake)
        grads = input_gradient(lambda inputs: self.critic(inputs), between)
        penalty = ops.mean(ops.square(ops.sqrt(ops.sum(ops.square(grads), axis=-1) + 1e-12) - 1.0))
        loss = ops.mean(self.critic(fake)) - ops.mean(self.critic(x)) + self.config.penalty_weight * penalty
        return loss, {"critic_loss": loss, "penalty": penalty}

    def generator_loss(self, data, training=True):
        x = ops.cast(data[0] if isinstance(data, tuple) else data, "float32")
        loss = -ops.mean(self.critic(self._fake(x)))
        return loss, {"generator_loss": loss}

    def sample(self, num_samples, seed_generator, sampler=None):
        noise = keras.random.normal((num_samples, self.config.input_shape[0]), seed=seed_generator)
        return self._fake(noise)
