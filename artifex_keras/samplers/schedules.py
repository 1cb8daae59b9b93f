"""Noise schedules of diffusion models: one training schedule, shared by every sampler.

A schedule fixes the forward process `q(x_t | x_0) = N(alpha_t x_0, sigma_t^2 I)`
of a variance-preserving diffusion over `num_timesteps` discrete steps
(`alpha_t^2 + sigma_t^2 = 1`, `alpha_t^2` the cumulative product of
`1 - beta_s`). Its tables are computed in float64 NumPy, then cast; a
fractional timestep interpolates `log(sigma_t / alpha_t)` linearly between
the integer steps, so the EDM samplers (Euler, Heun) can visit any noise
level and map it back to a timestep exactly.

The prediction conversions between epsilon, x0 and v live here too, so a
sampler turns any model's output into the quantities it steps with.

Example:
```python
from artifex_keras.samplers import schedules
schedule = schedules.CosineSchedule(num_timesteps=1000)
schedule.alphas_cumprod[:3]                       # float64 NumPy
alpha, sigma = schedule.signal_and_noise(t)       # backend tensors for timesteps t
x_t = schedule.add_noise(x0, noise, t)            # a draw of q(x_t | x_0)
schedules.get(schedules.serialize(schedule)) == schedule    # True
```
"""

import abc
import math
import numbers

import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.named_classes import NamedClasses

SCHEDULES = NamedClasses("schedule", "schedules.get", name_attribute="schedule_name", keras_serializable=True)
PREDICTIONS = ("epsilon", "x0", "v")
# Largest beta of the cosine and sigmoid schedules (Nichol & Dhariwal, 2021): avoids a singular last step.
MAX_BETA = 0.999


def register_schedule(name):
    """Class decorator: `schedules.get(name)` builds this class; also registers it for Keras serialisation."""
    return SCHEDULES.register(name)


def list_schedules():
    """Sorted names that `get` accepts."""
    return SCHEDULES.names()


def serialize(schedule):
    """`{"class_name": NAME, "config": {...}}`: what `get` rebuilds a schedule from."""
    return {"class_name": schedule.schedule_name, "config": schedule.get_config()}


def get(identifier):
    """A `NoiseSchedule` from a registered name, a `serialize` dict or an instance.

    Example:
    ```python
    get("linear"); get({"class_name": "cosine", "config": {"num_timesteps": 500}})
    ```
    """
    return SCHEDULES.get(identifier, NoiseSchedule)


def _check_real(owner, name, value, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{owner}: `{name}` must be a finite number, got {value!r}")
    if (low is not None and value <= low) or (high is not None and value >= high):
        raise ValueError(f"{owner}: `{name}` must be a number in ({low}, {high}), got {value!r}")
    return float(value)


class NoiseSchedule(abc.ABC):
    """Base of the variance-preserving schedules: tables, interpolation and `q(x_t | x_0)`.

    Subclasses implement `compute_alphas_cumprod()` (float64, one value per
    timestep, decreasing from near 1) and list their arguments in
    `get_config()`. Timesteps run from 0 (least noise) to
    `num_timesteps - 1` (most noise).
    """

    schedule_name = None

    def __init__(self, num_timesteps=1000):
        owner = type(self).__name__
        self.num_timesteps = validation.check_positive_int(owner, "num_timesteps", num_timesteps)
        if self.num_timesteps < 2:
            raise ValueError(f"{owner}: `num_timesteps` must be at least 2, got {num_timesteps!r}")

    def _finish(self):
        """Derived float64 tables; subclasses call this at the end of `__init__`."""
        alphas_cumprod = np.asarray(self.compute_alphas_cumprod(), dtype=np.float64)
        if alphas_cumprod.shape != (self.num_timesteps,) or not np.all(np.isfinite(alphas_cumprod)):
            raise ValueError(f"{type(self).__name__}: the schedule's alphas_cumprod are not finite")
        if np.any(alphas_cumprod <= 0) or np.any(alphas_cumprod >= 1) or np.any(np.diff(alphas_cumprod) >= 0):
            raise ValueError(
                f"{type(self).__name__}: alphas_cumprod must decrease strictly inside (0, 1); "
                "check the schedule's arguments"
            )
        self.alphas_cumprod = alphas_cumprod
        previous = np.concatenate([[1.0], alphas_cumprod[:-1]])
        self.betas = 1.0 - alphas_cumprod / previous
        self.alphas = 1.0 - self.betas
        # sigma / alpha: the noise level of the variance-exploding view x / alpha = x0 + (sigma / alpha) eps.
        self.edm_sigmas = np.sqrt((1.0 - alphas_cumprod) / alphas_cumprod)
        self.log_edm_sigmas = np.log(self.edm_sigmas)

    @abc.abstractmethod
    def compute_alphas_cumprod(self):
        """`alpha_bar_t` for `t = 1 .. num_timesteps`, float64 NumPy."""

    # NumPy (float64) ------------------------------------------------------
    def alphas_cumprod_at(self, timesteps):
        """`alpha_t^2` at (possibly fractional) timesteps, float64 NumPy; -1 means the clean data (1.0)."""
        sigma = self.sigma_at(timesteps)
        return 1.0 / (1.0 + sigma**2)

    def sigma_at(self, timesteps):
        """The EDM noise level `sigma_t / alpha_t` at (possibly fractional) timesteps, float64; 0 at -1."""
        t = np.asarray(timesteps, dtype=np.float64)
        clean = t < 0
        positions = np.clip(t, 0, self.num_timesteps - 1)
        value = np.exp(np.interp(positions, np.arange(self.num_timesteps), self.log_edm_sigmas))
        return np.where(clean, 0.0, value)

    def timestep_from_sigma(self, sigma):
        """The fractional timestep whose EDM noise level is `sigma` (inverse of `sigma_at`), float64 NumPy."""
        sigma = np.asarray(sigma, dtype=np.float64)
        return np.interp(np.log(sigma), self.log_edm_sigmas, np.arange(self.num_timesteps, dtype=np.float64))

    @property
    def sigma_min(self):
        return float(self.edm_sigmas[0])

    @property
    def sigma_max(self):
        return float(self.edm_sigmas[-1])

    # Backend tensors --------------------------------------------------------
    def signal_and_noise(self, timesteps):
        """`(alpha_t, sigma_t)` float32 tensors shaped like `timesteps` (ints or fractional floats)."""
        sigma = self.edm_sigma(timesteps)
        alpha = ops.rsqrt(1.0 + ops.square(sigma))
        return alpha, alpha * sigma

    def edm_sigma(self, timesteps):
        """`sigma_t / alpha_t` at `timesteps`: log-linear between integer steps, exact at them."""
        t = ops.clip(ops.cast(timesteps, "float32"), 0.0, float(self.num_timesteps - 1))
        low = ops.floor(t)
        weight = t - low
        low = ops.cast(low, "int32")
        high = ops.minimum(low + 1, self.num_timesteps - 1)
        table = ops.convert_to_tensor(self.log_edm_sigmas.astype("float32"))
        log_sigma = (1.0 - weight) * ops.take(table, low) + weight * ops.take(table, high)
        return ops.exp(log_sigma)

    def alpha_cumprod(self, timesteps):
        """`alpha_t^2` (float32) at `timesteps`."""
        return 1.0 / (1.0 + ops.square(self.edm_sigma(timesteps)))

    def snr(self, timesteps):
        """Signal-to-noise ratio `alpha_t^2 / sigma_t^2` (float32) at `timesteps`."""
        return 1.0 / ops.square(self.edm_sigma(timesteps))

    def add_noise(self, x0, noise, timesteps):
        """`x_t = alpha_t x0 + sigma_t noise`, a draw of `q(x_t | x_0)` when `noise` is standard normal."""
        alpha, sigma = self.signal_and_noise(timesteps)
        return broadcast_to(alpha, x0) * x0 + broadcast_to(sigma, x0) * noise

    # Serialisation ----------------------------------------------------------
    def get_config(self):
        return {"num_timesteps": self.num_timesteps}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


@register_schedule("linear")
class LinearSchedule(NoiseSchedule):
    """Betas rising linearly from `beta_start` to `beta_end` (Ho et al., 2020).

    Args:
        num_timesteps: number of diffusion steps `T`.
        beta_start: `beta_1`.
        beta_end: `beta_T`.

    Example:
    ```python
    LinearSchedule(1000).alphas_cumprod[-1]     # about 4e-5
    ```

    Reference:
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020.
    """

    def __init__(self, num_timesteps=1000, beta_start=1e-4, beta_end=0.02):
        super().__init__(num_timesteps)
        owner = type(self).__name__
        self.beta_start = _check_real(owner, "beta_start", beta_start, 0.0, 1.0)
        self.beta_end = _check_real(owner, "beta_end", beta_end, 0.0, 1.0)
        self._finish()

    def compute_alphas_cumprod(self):
        betas = np.linspace(self.beta_start, self.beta_end, self.num_timesteps, dtype=np.float64)
        return np.cumprod(1.0 - betas)

    def get_config(self):
        return {**super().get_config(), "beta_start": self.beta_start, "beta_end": self.beta_end}


@register_schedule("cosine")
class CosineSchedule(NoiseSchedule):
    """`alpha_bar(u) = cos^2(pi/2 (u + s) / (1 + s))` normalised to `alpha_bar(0) = 1`, betas clipped at 0.999.

    Timestep `t` sits at `u = (t + 1) / T`.

    Args:
        num_timesteps: number of diffusion steps `T`.
        offset: the small offset `s` that keeps the first betas from vanishing.

    Reference:
        Nichol & Dhariwal, "Improved Denoising Diffusion Probabilistic Models", ICML 2021 (eq. 17).
    """

    def __init__(self, num_timesteps=1000, offset=0.008):
        super().__init__(num_timesteps)
        self.offset = _check_real(type(self).__name__, "offset", offset, 0.0, 1.0)
        self._finish()

    def _alpha_bar(self, u):
        return np.cos((u + self.offset) / (1.0 + self.offset) * np.pi / 2) ** 2

    def compute_alphas_cumprod(self):
        u = np.arange(self.num_timesteps + 1, dtype=np.float64) / self.num_timesteps
        bars = self._alpha_bar(u) / self._alpha_bar(0.0)
        betas = np.minimum(1.0 - bars[1:] / bars[:-1], MAX_BETA)
        return np.cumprod(1.0 - betas)

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


@register_schedule("sigmoid")
class SigmoidSchedule(NoiseSchedule):
    """`alpha_bar(u)` falling as a sigmoid of `u` between `start` and `end`, with temperature `tau`.

    `alpha_bar(u) = (sigmoid(end / tau) - sigmoid((u (end - start) + start) / tau))
    / (sigmoid(end / tau) - sigmoid(start / tau))`, timestep `t` at
    `u = (t + 1) / T`, betas clipped at 0.999.

    Args:
        num_timesteps: number of diffusion steps `T`.
        start: left end of the sigmoid's input range.
        end: right end of the sigmoid's input range.
        tau: temperature; larger values give a schedule closer to linear in `u`.

    Reference:
        Chen, "On the Importance of Noise Scheduling for Diffusion Models", 2023 (Algorithm 1).
    """

    def __init__(self, num_timesteps=1000, start=-3.0, end=3.0, tau=1.0):
        super().__init__(num_timesteps)
        owner = type(self).__name__
        self.start = _check_real(owner, "start", start)
        self.end = _check_real(owner, "end", end)
        if self.end <= self.start:
            raise ValueError(f"{owner}: `end` must be larger than `start` ({self.start}), got {end!r}")
        self.tau = _check_real(owner, "tau", tau, 0.0)
        self._finish()

    def _alpha_bar(self, u):
        def sigmoid(z):
            return 1.0 / (1.0 + np.exp(-z))

        low, high = sigmoid(self.start / self.tau), sigmoid(self.end / self.tau)
        return (high - sigmoid((u * (self.end - self.start) + self.start) / self.tau)) / (high - low)

    def compute_alphas_cumprod(self):
        u = np.arange(self.num_timesteps + 1, dtype=np.float64) / self.num_timesteps
        bars = self._alpha_bar(u)
        previous = np.maximum(bars[:-1], np.finfo(np.float64).tiny)
        betas = np.clip(1.0 - bars[1:] / previous, 0.0, MAX_BETA)
        return np.cumprod(1.0 - betas)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "end": self.end, "tau": self.tau}


# Prediction targets ----------------------------------------------------------
def broadcast_to(coefficient, x):
    """A per-example coefficient `(batch,)` (or a scalar) reshaped to broadcast against `x`."""
    coefficient = ops.cast(coefficient, x.dtype)
    if len(coefficient.shape) == 0:
        return coefficient
    return ops.reshape(coefficient, (-1,) + (1,) * (len(x.shape) - 1))


def check_prediction(owner, prediction):
    if prediction not in PREDICTIONS:
        choices = ", ".join(map(repr, PREDICTIONS))
        raise ValueError(f"{owner}: `prediction` must be one of {choices}, got {prediction!r}")
    return prediction


def prediction_target(prediction, x0, noise, alpha, sigma):
    """What a network trained for `prediction` regresses: `noise`, `x0`, or `v = alpha noise - sigma x0`."""
    if prediction == "epsilon":
        return noise
    if prediction == "x0":
        return x0
    check_prediction("prediction_target", prediction)
    return broadcast_to(alpha, x0) * noise - broadcast_to(sigma, x0) * x0


def predicted_x0_and_noise(prediction, output, x_t, alpha, sigma):
    """`(x0, epsilon)` implied by a network `output` of kind `prediction` at `x_t = alpha x0 + sigma epsilon`.

    With `alpha^2 + sigma^2 = 1`: `x0 = (x_t - sigma eps) / alpha`,
    `eps = (x_t - alpha x0) / sigma`, and for `v = alpha eps - sigma x0`:
    `x0 = alpha x_t - sigma v`, `eps = sigma x_t + alpha v` (Salimans & Ho, 2022, appendix D).
    """
    alpha = broadcast_to(alpha, x_t)
    sigma = broadcast_to(sigma, x_t)
    if prediction == "epsilon":
        return (x_t - sigma * output) / alpha, output
    if prediction == "x0":
        return output, (x_t - alpha * output) / sigma
    check_prediction("predicted_x0_and_noise", prediction)
    return alpha * x_t - sigma * output, sigma * x_t + alpha * output
