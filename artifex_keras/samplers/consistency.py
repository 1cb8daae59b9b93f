"""`ConsistencySampler`: one- and multistep sampling of consistency models, and the Karras noise levels."""

import math
import numbers

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.samplers.base import Sampler
from artifex_keras.samplers.base import draw_with_state
from artifex_keras.samplers.base import loop_seed_state
from artifex_keras.samplers.base import register_sampler
from artifex_keras.samplers.base import trajectory_loop


def karras_sigmas(num_scales, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    """The `num_scales` noise levels of Karras et al. (eq. 5), increasing, float64 NumPy.

    `sigma_i = (sigma_min^(1/rho) + i / (N - 1) (sigma_max^(1/rho) - sigma_min^(1/rho)))^rho`
    for `i = 0..N-1`; the endpoints are exactly `sigma_min` and `sigma_max`.

    Example:
    ```python
    karras_sigmas(18)[[0, -1]]      # array([0.002, 80.0])
    ```
    """
    if isinstance(num_scales, bool) or not isinstance(num_scales, numbers.Integral) or num_scales < 2:
        raise ValueError(f"karras_sigmas: `num_scales` must be an int of at least 2, got {num_scales!r}")
    if not 0.0 < sigma_min < sigma_max:
        raise ValueError(f"karras_sigmas: `sigma_min` must lie in (0, sigma_max = {sigma_max}), got {sigma_min!r}")
    fraction = np.arange(num_scales, dtype=np.float64) / (num_scales - 1)
    low, high = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    sigmas = (low + fraction * (high - low)) ** rho
    sigmas[0], sigmas[-1] = sigma_min, sigma_max
    return sigmas



@register_sampler("consistency")
class ConsistencySampler(Sampler):
    """Multistep consistency sampling (Song et al., 2023, Algorithm 1).

    The first step maps `sigma_max z` to `f(sigma_max z, sigma_max)`; every
    further step re-noises the sample to an intermediate level `tau`
    (`x + sqrt(tau^2 - sigma_min^2) z`) and maps it back with `f`. The
    intermediate levels are `sigmas` (decreasing), or by default the inner
    points of a Karras grid of `steps + 1` levels from `sigma_max` to
    `sigma_min`.

    Args:
        steps: network evaluations (1: one-step generation).
        sigmas: explicit decreasing intermediate levels (then `steps = len(sigmas) + 1`).

    Example:
    ```python
    model.generate(16, sampler=ConsistencySampler(steps=2))
    model.generate(16, sampler=ConsistencySampler(sigmas=(5.0, 0.8)))   # three evaluations
    ```
    """

    def __init__(self, steps=None, sigmas=None):
        owner = type(self).__name__
        if sigmas is not None:
            values = tuple(sigmas) if isinstance(sigmas, (list, tuple, np.ndarray)) else None
            if not values or not all(
                isinstance(s, numbers.Real) and not isinstance(s, bool) and math.isfinite(s) and s > 0 for s in values
            ):
                raise ValueError(f"{owner}: `sigmas` must be a non-empty sequence of positive numbers, got {sigmas!r}")
            values = tuple(float(s) for s in values)
            if any(b >= a for a, b in zip(values, values[1:])):
                raise ValueError(f"{owner}: `sigmas` must decrease strictly, got {values}")
            if steps is not None and validation.check_positive_int(owner, "steps", steps) != len(values) + 1:
                raise ValueError(f"{owner}: `steps` must be len(sigmas) + 1 = {len(values) + 1}, got {steps!r}")
            self.sigmas = values
            self.steps = len(values) + 1
        else:
            self.sigmas = None
            self.steps = validation.check_positive_int(owner, "steps", 1 if steps is None else steps)

    def get_config(self):
        return {"steps": self.steps, "sigmas": None if self.sigmas is None else list(self.sigmas)}

    def intermediate_sigmas(self, sigma_min, sigma_max, rho=7.0):
        """The decreasing re-noising levels (float64 NumPy, `steps - 1` of them)."""
        if self.sigmas is not None:
            return np.asarray(self.sigmas, dtype=np.float64)
        if self.steps == 1:
            return np.zeros((0,), dtype=np.float64)
        return karras_sigmas(self.steps + 1, sigma_min, sigma_max, rho)[::-1][1:-1].copy()

    def check_range(self, owner, sigma_min, sigma_max):
        """Raise a clear error when an explicit level lies outside `(sigma_min, sigma_max)`."""
        if self.sigmas is not None and not (sigma_min < min(self.sigmas) and max(self.sigmas) < sigma_max):
            raise ValueError(
                f"{owner}: {type(self).__name__} `sigmas` must lie in ({sigma_min}, {sigma_max}), got {self.sigmas}"
            )

    def sample(self, consistency_fn, noise, seed_generator, sigma_min, sigma_max, rho=7.0, return_trajectory=False):
        """Samples from standard normal `noise` with `consistency_fn(x, sigma) -> x0`.

        Returns the samples, or `(samples, trajectory)` with the trajectory
        `(steps + 1, batch, ...)`: `sigma_max z`, then the output of every step.
        """
        noise = ops.cast(noise, "float32")
        batch = ops.shape(noise)[0]
        start = float(sigma_max) * noise
        x = ops.cast(consistency_fn(start, ops.full((batch,), float(sigma_max))), "float32")
        first = x
        taus = self.intermediate_sigmas(sigma_min, sigma_max, rho)
        states = None
        if len(taus):
            levels = ops.convert_to_tensor(taus.astype("float32"))
            widths = ops.convert_to_tensor(np.sqrt(taus**2 - float(sigma_min) ** 2).astype("float32"))

            def body(index, carry):
                current, state = carry
                z, state = draw_with_state(
                    seed_generator, state, lambda: keras.random.normal(ops.shape(noise), seed=seed_generator)
                )
                renoised = current + ops.take(widths, index) * z
                sigma = ops.ones((batch,), dtype="float32") * ops.take(levels, index)
                return ops.cast(consistency_fn(renoised, sigma), "float32"), state

            carry, states = trajectory_loop(
                len(taus),
                body,
                (x, loop_seed_state(seed_generator)),
                return_trajectory,
                lambda _, carry: carry[0],
                x,
            )
            x = carry[0]
        if not return_trajectory:
            return x
        trajectory = ops.concatenate([start[None], first[None]], axis=0)
        return x, trajectory if states is None else ops.concatenate([trajectory, states], axis=0)
