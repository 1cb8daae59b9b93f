"""The weight average: its update rule inside `fit` on every backend, and that `.keras` files keep it."""

import dataclasses

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.config import Config
from artifex_keras.ema import ExponentialMovingAverage
from artifex_keras.models.base import GenerativeModel

DECAY = 0.9


@dataclasses.dataclass(frozen=True)
class AveragedConfig(Config):
    input_shape: tuple = (3,)
    seed: int = 0


def _network(width, name):
    return keras.Sequential(
        [keras.Input((width,)), keras.layers.Dense(width), keras.layers.BatchNormalization()], name=name
    )


@keras.saving.register_keras_serializable(package="artifex_keras_tests")
class AveragedModel(GenerativeModel):
    """A regression network with an averaged twin; samples come from the twin."""

    config_class = AveragedConfig

    def build_networks(self):
        self.network = _network(self.config.input_shape[0], "network")
        self.average = _network(self.config.input_shape[0], "average")
        self.ema = ExponentialMovingAverage(self.network, self.average, decay=DECAY)
        self.ema.copy()

    def default_optimizers(self):
        return {"model": keras.optimizers.SGD(0.5)}

    def after_training_step(self):
        self.ema.update()

    def compute_generative_loss(self, data, training=True):
        x = ops.cast(data, "float32")
        loss = ops.mean(ops.square(self.network(x, training=training) - ops.flip(x, axis=-1)))
        return loss, {"loss": loss}

    def sample(self, num_samples, seed_generator, sampler=None):
        return self.average(keras.random.normal((num_samples, self.config.input_shape[0]), seed=seed_generator))


def _values(weights):
    return [np.array(ops.convert_to_numpy(w)) for w in weights]


def test_fit_updates_the_average_by_its_rule():
    model = AveragedModel()
    model.compile()
    before = _values(model.average.weights)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    model.fit(x, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for online, old, new in zip(model.network.weights, before, _values(model.average.weights)):
        value = ops.convert_to_numpy(online)
        # Trainable weights are averaged; the batch-norm statistics are copied.
        expected = DECAY * old + (1 - DECAY) * value if online.trainable else value
        np.testing.assert_allclose(new, expected, rtol=0, atol=1e-6)
    assert any(not w.trainable for w in model.network.weights)
    assert not model.average.trainable_weights


def test_average_is_saved_and_sampled(tmp_path):
    model = AveragedModel()
    model.compile()
    x = np.random.default_rng(1).normal(size=(32, 3)).astype("float32")
    model.fit(x, batch_size=16, epochs=2, verbose=0)
    path = str(tmp_path / "averaged.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    for saved, loaded in zip(_values(model.average.weights), _values(restored.average.weights)):
        np.testing.assert_array_equal(saved, loaded)
    np.testing.assert_allclose(restored.generate(4, seed=3), model.generate(4, seed=3), rtol=0, atol=1e-6)
    # The samples come from the average, not from the network being trained.
    noise_model = AveragedModel()
    noise_model.average.set_weights(model.average.get_weights())
    np.testing.assert_allclose(noise_model.generate(4, seed=3), model.generate(4, seed=3), rtol=0, atol=1e-6)


def test_bad_decay_and_mismatched_networks():
    network = _network(3, "a")
    with pytest.raises(ValueError, match="`decay` must be a number in \\[0, 1\\), got 1.0"):
        ExponentialMovingAverage(network, _network(3, "b"), decay=1.0)
    with pytest.raises(ValueError, match="has shape"):
        ExponentialMovingAverage(network, _network(4, "c")).copy()
