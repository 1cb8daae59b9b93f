import dataclasses

import keras
import numpy as np
import pytest
from keras import ops

from artifex_keras.backend import Phase
from artifex_keras.config import Config
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.gan import losses
from artifex_keras.models.gan import penalties

REAL = np.array([2.0, -0.5, 0.3, 4.0], "float32")
FAKE = np.array([-1.5, 0.2, -3.0, 0.7], "float32")


def numpy(tensor):
    return float(ops.convert_to_numpy(ops.stop_gradient(tensor)))


def log_sigmoid(x):
    return -np.log1p(np.exp(-x.astype("float64")))


@pytest.mark.parametrize(
    "loss, smoothing, expected_d, expected_g",
    [
        (
            "vanilla",
            0.0,
            -np.mean(log_sigmoid(REAL)) - np.mean(log_sigmoid(-FAKE)),
            np.mean(log_sigmoid(-FAKE)),
        ),
        (
            "non_saturating",
            0.1,
            -np.mean(0.9 * log_sigmoid(REAL) + 0.1 * log_sigmoid(-REAL)) - np.mean(log_sigmoid(-FAKE)),
            -np.mean(log_sigmoid(FAKE)),
        ),
        (
            "least_squares",
            0.2,
            0.5 * np.mean((REAL - 0.8) ** 2) + 0.5 * np.mean(FAKE**2),
            0.5 * np.mean((FAKE - 1.0) ** 2),
        ),
        ("wasserstein", 0.0, np.mean(FAKE) - np.mean(REAL), -np.mean(FAKE)),
        (
            "hinge",
            0.0,
            np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)),
            -np.mean(FAKE),
        ),
    ],
    ids=losses.LOSSES,
)
def test_losses_match_their_closed_forms(loss, smoothing, expected_d, expected_g):
    got_d = numpy(losses.discriminator_loss(loss, REAL, FAKE, label_smoothing=smoothing))
    got_g = numpy(losses.generator_loss(loss, FAKE))
    np.testing.assert_allclose(got_d, expected_d, rtol=1e-6)
    np.testing.assert_allclose(got_g, expected_g, rtol=1e-6)


def test_cross_entropy_is_stable_for_large_logits():
    value = losses.binary_cross_entropy_with_logits(np.array([200.0, -200.0], "float32"), 1.0)
    np.testing.assert_allclose(ops.convert_to_numpy(value), [0.0, 200.0], rtol=1e-6)


@pytest.mark.parametrize(
    "loss, smoothing, message",
    [
        ("minimax", 0.0, "`loss` must be one of vanilla, non_saturating"),
        ("hinge", 0.1, "the hinge loss has no targets to smooth"),
        ("vanilla", 1.0, r"`label_smoothing` must lie in \[0, 1\)"),
    ],
)
def test_bad_loss_arguments(loss, smoothing, message):
    with pytest.raises(ValueError, match=message):
        losses.discriminator_loss(loss, REAL, FAKE, label_smoothing=smoothing)


# A tanh MLP critic f(x) = tanh(x W1 + b1) W2 + b2, in float64 NumPy as the reference.
RNG = np.random.default_rng(0)
WEIGHTS = [
    RNG.standard_normal((3, 4)).astype("float32"),
    RNG.standard_normal(4).astype("float32") * 0.3,
    RNG.standard_normal((4, 1)).astype("float32"),
    np.array([0.1], "float32"),
]
POINTS = RNG.standard_normal((5, 3)).astype("float32")


def critic_network():
    critic = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    critic.set_weights(WEIGHTS)
    return critic


def numpy_critic(x, weights):
    w1, b1, w2, b2 = [np.asarray(w, "float64") for w in weights]
    return np.tanh(x @ w1 + b1) @ w2 + b2


def finite_difference_input_gradient(x, weights, eps=1e-6):
    x = x.astype("float64")
    grads = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        grads[index] = (numpy_critic(x + step, weights)[index[0], 0] - numpy_critic(x - step, weights)[index[0], 0]) / (
            2 * eps
        )
    return grads


def analytic_penalty(x, weights):
    w1, b1, w2, _ = [np.asarray(w, "float64") for w in weights]
    h = np.tanh(x.astype("float64") @ w1 + b1)
    grads = ((1 - h**2) * w2[:, 0]) @ w1.T
    return np.mean((np.linalg.norm(grads, axis=1) - 1.0) ** 2), grads


def test_gradient_penalty_matches_finite_differences():
    critic = critic_network()
    fd = finite_difference_input_gradient(POINTS, WEIGHTS)
    expected = np.mean((np.linalg.norm(fd, axis=1) - 1.0) ** 2)
    got = numpy(penalties.gradient_norm_penalty(lambda x: critic(x), ops.convert_to_tensor(POINTS)))
    np.testing.assert_allclose(got, expected, rtol=2e-5)
    r1 = numpy(penalties.r1_penalty(lambda x: critic(x), POINTS))
    np.testing.assert_allclose(r1, np.mean(np.sum(fd**2, axis=1)), rtol=2e-5)


def test_interpolates_lie_between_real_and_fake():
    real, fake = POINTS, POINTS[::-1] + 3.0
    points = ops.convert_to_numpy(penalties.interpolate(real, fake, keras.random.SeedGenerator(0)))
    alpha = (points - real) / (fake - real)
    np.testing.assert_allclose(alpha, alpha[:, :1].repeat(3, axis=1), atol=1e-5)
    assert np.all((alpha >= 0) & (alpha <= 1)) and np.ptp(alpha[:, 0]) > 0


@dataclasses.dataclass(frozen=True)
class PenaltyOnlyConfig(Config):
    input_shape: tuple = (3,)


@keras.saving.register_keras_serializable(package="artifex_keras_tests")
class PenaltyOnly(GenerativeModel):
    """One phase minimising the gradient penalty of a critic: its step needs the penalty's second derivative."""

    config_class = PenaltyOnlyConfig
    metric_names = ("penalty",)

    def build_networks(self):
        self.critic = critic_network()

    def training_phases(self):
        return [Phase("critic", self.penalty, self.critic.trainable_variables)]

    def default_optimizers(self):
        return {"critic": keras.optimizers.SGD(1.0)}

    def penalty(self, data, training=True):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        value = penalties.gradient_norm_penalty(lambda points: self.critic(points), ops.cast(x, "float32"))
        return value, {"penalty": value}


def test_gradient_penalty_differentiates_inside_the_training_step():
    model = PenaltyOnly()
    model.compile(optimizer={"critic": keras.optimizers.SGD(1.0)})
    model.train_on_batch(POINTS)
    got = [w - np.asarray(v) for w, v in zip(WEIGHTS, model.get_weights())]
    # The penalty's gradient with respect to each weight, by central differences in float64.
    eps = 1e-6
    for index, weight in enumerate(WEIGHTS):
        expected = np.zeros(weight.shape)
        for position in np.ndindex(*weight.shape):
            shifted = [np.asarray(w, "float64").copy() for w in WEIGHTS]
            shifted[index][position] += eps
            up = analytic_penalty(POINTS, shifted)[0]
            shifted[index][position] -= 2 * eps
            down = analytic_penalty(POINTS, shifted)[0]
            expected[position] = (up - down) / (2 * eps)
        np.testing.assert_allclose(got[index], expected, rtol=1e-4, atol=2e-6, err_msg=f"weight {index}")
    assert np.abs(got[0]).max() > 1e-3
