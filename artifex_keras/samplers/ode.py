"""Fixed-step ODE solvers for velocity models: Euler, Heun, midpoint and RK4 on `dx/dt = v(x, t)`.

The time convention is that of flow matching: `t = 0` is the noise, `t = 1`
the data, so sampling integrates forwards from `t = 0` to `t = 1`; passing
`t_start=1.0, t_end=0.0` runs the same solver backwards (data to noise). A
velocity model is a function `velocity(x, t) -> dx/dt`, `t` float32 of shape
`(batch,)`. Every solver takes `steps` equal steps; the whole loop is one
`ops.fori_loop` (one compiled call on JAX and TensorFlow).

Example:
```python
from artifex_keras import samplers
sampler = samplers.ODEHeunSampler(steps=20)
x1 = sampler.sample(velocity, noise)
x1, trajectory = sampler.sample(velocity, noise, return_trajectory=True)   # (steps + 1, batch, ...)
x0 = sampler.sample(velocity, x1, t_start=1.0, t_end=0.0)                  # back to the noise
flow_matching.generate(16, sampler=samplers.ODERK4Sampler(steps=8))
```
"""

import abc
import math
import numbers

import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.samplers.base import Sampler
from artifex_keras.samplers.base import register_sampler
from artifex_keras.samplers.base import trajectory_loop


class ODESampler(Sampler, abc.ABC):
    """Base of the fixed-step solvers of `dx/dt = v(x, t)` over `t` in [0, 1] (0: noise, 1: data).

    Subclasses implement `step(velocity, x, t, h)`, one step of size `h`
    from time `t` (a float32 scalar tensor), and set `evaluations_per_step`.

    Args:
        steps: number of equal steps from `t_start` to `t_end`.
    """

    evaluations_per_step = 1

    def __init__(self, steps=50):
        self.steps = validation.check_positive_int(type(self).__name__, "steps", steps)

    def sample(self, velocity, noise, return_trajectory=False, t_start=0.0, t_end=1.0):
        """Integrate `velocity` from `noise` (the state at `t_start`) to `t_end`.

        Args:
            velocity: `velocity(x, t) -> dx/dt`, `t` float32 of shape `(batch,)`.
            noise: the starting state `(batch, ...)`.
            return_trajectory: also return the states `(steps + 1, batch, ...)`, from the start to the end.
            t_start: time of the starting state (default 0, the noise).
            t_end: time to integrate to (default 1, the data).

        Returns:
            The states at `t_end`, or `(states, trajectory)`.
        """
        owner = type(self).__name__
        t_start = _check_time(owner, "t_start", t_start)
        t_end = _check_time(owner, "t_end", t_end)
        if t_start == t_end:
            raise ValueError(f"{owner}: `t_end` must differ from `t_start` ({t_start}), got {t_end}")
        x = ops.cast(noise, "float32")
        batch = ops.shape(x)[0]
        h = (t_end - t_start) / self.steps
        times = ops.convert_to_tensor((t_start + h * np.arange(self.steps)).astype("float32"))

        def field(state, t):
            return ops.cast(velocity(state, ops.ones((batch,), dtype="float32") * t), "float32")

        def body(index, state):
            return self.step(field, state, ops.take(times, index), h)

        samples, states = trajectory_loop(self.steps, body, x, return_trajectory, lambda index, state: state, x)
        if not return_trajectory:
            return samples
        return samples, ops.concatenate([x[None], states], axis=0)

    @abc.abstractmethod
    def step(self, velocity, x, t, h):
        """`x` advanced by one step of size `h` from time `t` along `velocity(x, t)`."""

    def get_config(self):
        return {"steps": self.steps}


def _check_time(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{owner}: `{name}` must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner}: `{name}` must be a number in [0, 1], got {value!r}")
    return float(value)


@register_sampler("ode_euler")
class ODEEulerSampler(ODESampler):
    """Euler's method: `x <- x + h v(x, t)`; first order, one evaluation per step.

    Args:
        steps: number of steps.

    Example:
    ```python
    flow_matching.generate(16, sampler=ODEEulerSampler(steps=100))
    ```

    Reference:
        Liu, Gong & Liu, "Flow Straight and Fast: Learning to Generate and Transfer Data with
        Rectified Flow", ICLR 2023 (its sampler; one step suffices for a straight flow).
    """

    def step(self, velocity, x, t, h):
        return x + h * velocity(x, t)


@register_sampler("ode_heun")
class ODEHeunSampler(ODESampler):
    """Heun's method (explicit trapezoid): Euler's step corrected by the slope at its end; second order.

    `k1 = v(x, t)`, `k2 = v(x + h k1, t + h)`, `x <- x + h (k1 + k2) / 2`: two
    evaluations per step.

    Args:
        steps: number of steps.

    Example:
    ```python
    flow_matching.generate(16, sampler=ODEHeunSampler(steps=25))
    ```

    Reference:
        Süli & Mayers, "An Introduction to Numerical Analysis", 2003 (section 12.5).
    """

    evaluations_per_step = 2

    def step(self, velocity, x, t, h):
        slope = velocity(x, t)
        slope_end = velocity(x + h * slope, t + h)
        return x + (0.5 * h) * (slope + slope_end)


@register_sampler("ode_midpoint")
class ODEMidpointSampler(ODESampler):
    """The explicit midpoint method: `x <- x + h v(x + h v(x, t) / 2, t + h / 2)`; second order.

    Args:
        steps: number of steps (two evaluations each).

    Example:
    ```python
    flow_matching.generate(16, sampler=ODEMidpointSampler(steps=25))
    ```

    Reference:
        Süli & Mayers, "An Introduction to Numerical Analysis", 2003 (section 12.5).
    """

    evaluations_per_step = 2

    def step(self, velocity, x, t, h):
        half = 0.5 * h
        return x + h * velocity(x + half * velocity(x, t), t + half)


@register_sampler("ode_rk4")
class ODERK4Sampler(ODESampler):
    """The classical fourth-order Runge-Kutta method: four evaluations per step.

    `x <- x + h (k1 + 2 k2 + 2 k3 + k4) / 6` with `k1 = v(x, t)`,
    `k2 = v(x + h k1 / 2, t + h / 2)`, `k3 = v(x + h k2 / 2, t + h / 2)`,
    `k4 = v(x + h k3, t + h)`.

    Args:
        steps: number of steps.

    Example:
    ```python
    flow_matching.generate(16, sampler=ODERK4Sampler(steps=10))
    ```

    Reference:
        Süli & Mayers, "An Introduction to Numerical Analysis", 2003 (section 12.5).
    """

    evaluations_per_step = 4

    def step(self, velocity, x, t, h):
        half = 0.5 * h
        k1 = velocity(x, t)
        k2 = velocity(x + half * k1, t + half)
        k3 = velocity(x + half * k2, t + half)
        k4 = velocity(x + h * k3, t + h)
        return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
