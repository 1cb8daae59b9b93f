"""Diffusion samplers: solvers that turn a denoiser and its noise schedule into samples.

A sampler takes a model-agnostic denoiser `denoiser(x_t, t) -> prediction`
(an epsilon, x0 or v prediction, `t` float32 timesteps of shape `(batch,)`,
possibly fractional), the model's training `NoiseSchedule`, and the starting
noise `x_T ~ N(0, I)`. Every coefficient is computed ahead in float64 NumPy;
the loop body only gathers them, so the whole loop is one `ops.fori_loop`
(one compiled call on JAX and TensorFlow) and any model trained with any
schedule and prediction target accepts any of these samplers.

Example:
```python
from artifex_keras import samplers
schedule = samplers.LinearSchedule(1000)
sampler = samplers.DDIMSampler(steps=50, eta=0.0)
x0 = sampler.sample(denoiser, schedule, noise, seed_generator, prediction="epsilon")
x0, trajectory = sampler.sample(denoiser, schedule, noise, seed_generator, return_trajectory=True)
ddpm.generate(16, sampler=samplers.DPMSolverSampler(steps=20))
```
"""

import abc
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
from artifex_keras.samplers.schedules import check_prediction
from artifex_keras.samplers.schedules import predicted_x0_and_noise


class DiffusionSampler(Sampler, abc.ABC):
    """Base of the diffusion samplers: `steps` network evaluations (Heun: about twice as many).

    Subclasses implement `run(denoise, schedule, noise, seed_generator,
    return_trajectory)` where `denoise(x, t, alpha, sigma)` returns the
    `(x0, epsilon)` predictions at `x = alpha x0 + sigma epsilon`.

    `clip_x0=c` clips every x0 prediction to `[-c, c]` and takes the noise
    prediction consistent with it, `(x - alpha x0) / sigma` (the
    "clip_denoised" of the original DDPM code): data scaled to [-1, 1] then
    never leave that range on the way, which keeps a briefly trained
    epsilon-predicting model from saturating its samples (a well-trained
    one rarely needs it).
    """

    def __init__(self, steps=50, clip_x0=None):
        owner = type(self).__name__
        self.steps = validation.check_positive_int(owner, "steps", steps)
        self.clip_x0 = None if clip_x0 is None else validation.check_positive_number(owner, "clip_x0", clip_x0)

    def check_schedule(self, owner, schedule):
        """Raise a clear error when this sampler cannot run on `schedule`."""
        if self.steps > schedule.num_timesteps:
            raise ValueError(
                f"{owner}: {type(self).__name__} `steps` must be at most the schedule's num_timesteps "
                f"({schedule.num_timesteps}), got {self.steps}"
            )

    def sample(self, denoiser, schedule, noise, seed_generator=None, prediction="epsilon", return_trajectory=False):
        """Samples from `noise` (`x_T`, standard normal) by solving backwards with `denoiser`.

        Args:
            denoiser: `denoiser(x, t) -> output`, the network's `prediction` at float32 timesteps `t` `(batch,)`.
            schedule: the `NoiseSchedule` the denoiser was trained with.
            noise: the starting point `x_T`, standard normal, `(batch, ...)`.
            seed_generator: the `keras.random.SeedGenerator` stochastic samplers draw from.
            prediction: what `denoiser` predicts: "epsilon", "x0" or "v".
            return_trajectory: also return the states `(steps + 1, batch, ...)`, from `x_T` to the sample.

        Returns:
            The samples, or `(samples, trajectory)`.
        """
        owner = type(self).__name__
        check_prediction(owner, prediction)
        self.check_schedule(owner, schedule)
        noise = ops.cast(noise, "float32")
        batch = ops.shape(noise)[0]
        bound = self.clip_x0

        def denoise(x, t, alpha, sigma):
            timesteps = ops.ones((batch,), dtype="float32") * t
            output = ops.cast(denoiser(x, timesteps), "float32")
            x0, eps = predicted_x0_and_noise(prediction, output, x, alpha, sigma)
            if bound is None:
                return x0, eps
            x0 = ops.clip(x0, -bound, bound)
            return x0, (x - alpha * x0) / sigma

        samples, states = self.run(denoise, schedule, noise, seed_generator, return_trajectory)
        if not return_trajectory:
            return samples
        return samples, ops.concatenate([noise[None], states], axis=0)

    @abc.abstractmethod
    def run(self, denoise, schedule, noise, seed_generator, return_trajectory):
        """The sampling loop from `noise`: `(samples, states)`, `states` the trajectory or None."""

    def get_config(self):
        return {"steps": self.steps, "clip_x0": self.clip_x0}


def timestep_grid(schedule, steps):
    """`(timesteps, next_timesteps)`: `steps` integer timesteps from `T - 1` down ("trailing" spacing), then -1.

    -1 stands for the clean data (`alpha = 1`).
    """
    timesteps = np.round(np.arange(schedule.num_timesteps, 0, -schedule.num_timesteps / steps)).astype(np.int64) - 1
    return timesteps, np.concatenate([timesteps[1:], [-1]])


def _vp(schedule, timesteps):
    """`(alpha, sigma)` float64 of the variance-preserving process; timestep -1 gives `(1, 0)`."""
    alphas_cumprod = schedule.alphas_cumprod_at(timesteps)
    return np.sqrt(alphas_cumprod), np.sqrt(1.0 - alphas_cumprod)


class _Tables:
    """Per-step float64 coefficients, cast to float32 constants and read by step index inside the loop."""

    def __init__(self, **tables):
        self.tables = {name: ops.convert_to_tensor(np.asarray(value, "float32")) for name, value in tables.items()}

    def at(self, index):
        return {name: ops.take(table, index) for name, table in self.tables.items()}


def _check_eta(owner, eta):
    if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not math.isfinite(eta) or eta < 0:
        raise ValueError(f"{owner}: `eta` must be a non-negative number, got {eta!r}")
    return float(eta)


@register_sampler("ddpm")
class DDPMSampler(DiffusionSampler):
    """Ancestral sampling of the reverse process: `x_s ~ q(x_s | x_t, x0_hat)`, the posterior of eq. 7.

    With fewer `steps` than the schedule has timesteps, each step jumps over
    several timesteps with the posterior of the combined forward step
    (`beta = 1 - alpha_bar_t / alpha_bar_s`); its variance is the posterior
    variance `beta_tilde` ("fixed small").

    Args:
        steps: number of denoising steps, at most the schedule's `num_timesteps`.
        clip_x0: bound of the clipped x0 predictions (see `DiffusionSampler`), or None.

    Example:
    ```python
    ddpm.generate(16, sampler=DDPMSampler(steps=1000, clip_x0=1.0))
    ```

    Reference:
        Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020 (eqs. 6-7).
    """

    def __init__(self, steps=1000, clip_x0=None):
        super().__init__(steps, clip_x0)

    def run(self, denoise, schedule, noise, seed_generator, return_trajectory):
        timesteps, following = timestep_grid(schedule, self.steps)
        bar_t = schedule.alphas_cumprod_at(timesteps)
        bar_s = schedule.alphas_cumprod_at(following)
        beta = 1.0 - bar_t / bar_s
        tables = _Tables(
            t=timesteps,
            alpha=np.sqrt(bar_t),
            sigma=np.sqrt(1.0 - bar_t),
            coef_x0=np.sqrt(bar_s) * beta / (1.0 - bar_t),
            coef_x=np.sqrt(1.0 - beta) * (1.0 - bar_s) / (1.0 - bar_t),
            std=np.sqrt((1.0 - bar_s) / (1.0 - bar_t) * beta),
        )
        shape = ops.shape(noise)

        def body(index, carry):
            x, seed_state = carry
            c = tables.at(index)
            x0, _ = denoise(x, c["t"], c["alpha"], c["sigma"])
            z, seed_state = draw_with_state(seed_generator, seed_state, lambda: _normal(shape, seed_generator))
            return c["coef_x0"] * x0 + c["coef_x"] * x + c["std"] * z, seed_state

        (x, _), states = trajectory_loop(
            self.steps,
            body,
            (noise, loop_seed_state(seed_generator)),
            return_trajectory,
            lambda index, carry: carry[0],
            noise,
        )
        return x, states


def _normal(shape, seed_generator):
    return keras.random.normal(shape, seed=seed_generator)


@register_sampler("ddim")
class DDIMSampler(DiffusionSampler):
    """DDIM: `x_s = alpha_s x0_hat + sqrt(sigma_s^2 - eta_s^2) eps_hat + eta_s z` (eq. 12).

    `eta = 0` is deterministic (the probability-flow ODE, discretised) and
    invertible with `encode`; `eta = 1` has the variance of ancestral
    sampling.

    Args:
        steps: number of denoising steps, at most the schedule's `num_timesteps`.
        eta: scale of the fresh noise at each step (0: deterministic).
        clip_x0: bound of the clipped x0 predictions (see `DiffusionSampler`), or None.

    Example:
    ```python
    ddpm.generate(16, sampler=DDIMSampler(steps=50, eta=0.0))
    noise = DDIMSampler(steps=50).encode(denoiser, schedule, x)    # decode it back with sample()
    ```

    Reference:
        Song, Meng & Ermon, "Denoising Diffusion Implicit Models", ICLR 2021 (eqs. 12 and 16).
    """

    def __init__(self, steps=50, eta=0.0, clip_x0=None):
        super().__init__(steps, clip_x0)
        self.eta = _check_eta(type(self).__name__, eta)

    def _coefficients(self, schedule):
        timesteps, following = timestep_grid(schedule, self.steps)
        bar_t = schedule.alphas_cumprod_at(timesteps)
        bar_s = schedule.alphas_cumprod_at(following)
        std = self.eta * np.sqrt((1.0 - bar_s) / (1.0 - bar_t) * (1.0 - bar_t / bar_s))
        return timesteps, following, bar_t, bar_s, std

    def run(self, denoise, schedule, noise, seed_generator, return_trajectory):
        timesteps, _, bar_t, bar_s, std = self._coefficients(schedule)
        tables = _Tables(
            t=timesteps,
            alpha=np.sqrt(bar_t),
            sigma=np.sqrt(1.0 - bar_t),
            coef_x0=np.sqrt(bar_s),
            coef_eps=np.sqrt(np.maximum(1.0 - bar_s - std**2, 0.0)),
            std=std,
        )
        shape = ops.shape(noise)
        stochastic = self.eta > 0

        def body(index, carry):
            x, seed_state = carry
            c = tables.at(index)
            x0, eps = denoise(x, c["t"], c["alpha"], c["sigma"])
            x = c["coef_x0"] * x0 + c["coef_eps"] * eps
            if stochastic:
                z, seed_state = draw_with_state(seed_generator, seed_state, lambda: _normal(shape, seed_generator))
                x = x + c["std"] * z
            return x, seed_state

        seed_state = loop_seed_state(seed_generator) if stochastic else ops.zeros((2,), dtype="int32")
        (x, _), states = trajectory_loop(
            self.steps, body, (noise, seed_state), return_trajectory, lambda index, carry: carry[0], noise
        )
        return x, states

    def encode(self, denoiser, schedule, x, prediction="epsilon", fixed_point_iterations=0):
        """The noise `x_T` that deterministic DDIM (`eta = 0`) decodes to `x`: the same steps, run forwards.

        Each step from `s` up to `t > s` on the step grid of `sample` solves
        `x_s = alpha_s x0_hat(x_t) + sigma_s eps_hat(x_t)` for `x_t`, the exact
        inverse of the decoding step. With `fixed_point_iterations=0` it uses
        the noise estimate at `(x_s, t)` (the usual DDIM inversion, exact up to
        an error that vanishes as `steps` grows); each iteration re-evaluates
        it at the current `x_t` (one more network call), which converges to
        the exact inverse when the steps are small enough.

        Args:
            denoiser: `denoiser(x, t) -> output`, as in `sample`.
            schedule: the `NoiseSchedule` of the denoiser.
            x: the samples to encode, `(batch, ...)`.
            prediction: what `denoiser` predicts.
            fixed_point_iterations: extra refinements of every step.

        Reference:
            Song, Meng & Ermon, ICLR 2021 (section 4.3); the fixed point: Pan et al., "Effective Real
            Image Editing with Accelerated Iterative Diffusion Inversion", ICCV 2023.
        """
        owner = f"{type(self).__name__}.encode"
        check_prediction(owner, prediction)
        self.check_schedule(owner, schedule)
        if self.eta != 0:
            raise ValueError(f"{owner}: only deterministic DDIM can encode; `eta` must be 0, got {self.eta}")
        if self.clip_x0 is not None:
            raise ValueError(f"{owner}: clipped steps cannot be inverted; `clip_x0` must be None, got {self.clip_x0}")
        iterations = validation.check_non_negative_int(owner, "fixed_point_iterations", fixed_point_iterations)
        x = ops.cast(x, "float32")
        batch = ops.shape(x)[0]
        timesteps, following = timestep_grid(schedule, self.steps)
        # Forwards: step k goes from `following` (less noise; -1 is the data) up to `timesteps`, last step first.
        alpha_from, sigma_from = _vp(schedule, following[::-1])
        alpha_to, sigma_to = _vp(schedule, timesteps[::-1])
        tables = _Tables(
            t=timesteps[::-1], alpha_from=alpha_from, sigma_from=sigma_from, alpha=alpha_to, sigma=sigma_to
        )

        def body(index, x_s):
            c = tables.at(index)

            def noise_at(x_t):
                output = ops.cast(denoiser(x_t, ops.ones((batch,), dtype="float32") * c["t"]), "float32")
                return predicted_x0_and_noise(prediction, output, x_t, c["alpha"], c["sigma"])[1]

            def step(x_t):
                # The network reads x_t at `t`; x0_hat from x_s with that noise, then x_t (eq. 13).
                eps = noise_at(x_t)
                x0 = (x_s - c["sigma_from"] * eps) / c["alpha_from"]
                return c["alpha"] * x0 + c["sigma"] * eps

            x_t = step(x_s)
            for _ in range(iterations):
                x_t = step(x_t)
            return x_t

        return ops.fori_loop(0, self.steps, body, x)

    def get_config(self):
        return {**super().get_config(), "eta": self.eta}


@register_sampler("dpm_solver")
class DPMSolverSampler(DiffusionSampler):
    """DPM-Solver++(2M): a second-order multistep solver of the probability-flow ODE in data prediction.

    Steps in `lambda = log(alpha / sigma)`:
    `x_s = (sigma_s / sigma_t) x_t - alpha_s (e^{-h} - 1) D`, `h = lambda_s - lambda_t`,
    with `D` the current x0 prediction at the first and last steps, and
    `D = (1 + 1 / (2r)) x0_t - 1 / (2r) x0_prev`, `r = h_prev / h`, between.

    Args:
        steps: number of denoising steps (one network evaluation each).
        clip_x0: bound of the clipped x0 predictions (see `DiffusionSampler`), or None.

    Example:
    ```python
    ddpm.generate(16, sampler=DPMSolverSampler(steps=20))
    ```

    Reference:
        Lu et al., "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic Models",
        2022 (Algorithm 2).
    """

    def __init__(self, steps=20, clip_x0=None):
        super().__init__(steps, clip_x0)

    def run(self, denoise, schedule, noise, seed_generator, return_trajectory):
        timesteps, following = timestep_grid(schedule, self.steps)
        alpha_t, sigma_t = _vp(schedule, timesteps)
        alpha_s, sigma_s = _vp(schedule, following)
        # e^{-h} = (sigma_s / alpha_s) / (sigma_t / alpha_t); 0 at the last step (sigma_s = 0).
        decay = (sigma_s / alpha_s) / (sigma_t / alpha_t)
        lambdas = np.log(alpha_t / sigma_t)
        h = np.log(alpha_s[:-1] / sigma_s[:-1]) - lambdas[:-1]
        weight_previous = np.zeros(self.steps)
        if self.steps > 2:
            r = h[:-1] / h[1:]
            # Second order from the second step up to the one before last (the last step lands on sigma = 0).
            weight_previous[1:-1] = -1.0 / (2.0 * r)
        tables = _Tables(
            t=timesteps,
            alpha=alpha_t,
            sigma=sigma_t,
            coef_x=sigma_s / sigma_t,
            coef_d=-alpha_s * (decay - 1.0),
            weight_current=1.0 - weight_previous,
            weight_previous=weight_previous,
        )

        def body(index, carry):
            x, previous = carry
            c = tables.at(index)
            x0, _ = denoise(x, c["t"], c["alpha"], c["sigma"])
            d = c["weight_current"] * x0 + c["weight_previous"] * previous
            return c["coef_x"] * x + c["coef_d"] * d, x0

        (x, _), states = trajectory_loop(
            self.steps, body, (noise, ops.zeros_like(noise)), return_trajectory, lambda index, carry: carry[0], noise
        )
        return x, states


class _EDMSampler(DiffusionSampler):
    """Shared by Euler and Heun: the EDM view `y = x / alpha = x0 + sigma eps` on Karras' sigmas."""

    def __init__(self, steps=30, rho=7.0, clip_x0=None):
        super().__init__(steps, clip_x0)
        owner = type(self).__name__
        if isinstance(rho, bool) or not isinstance(rho, numbers.Real) or not math.isfinite(rho) or rho <= 0:
            raise ValueError(f"{owner}: `rho` must be a positive number, got {rho!r}")
        self.rho = float(rho)

    def check_schedule(self, owner, schedule):
        """Any schedule: the sigmas are continuous, mapped back to fractional timesteps."""

    def sigmas(self, schedule):
        """`steps + 1` noise levels `sigma / alpha` from the schedule's largest to its smallest, then 0 (eq. 5)."""
        if self.steps == 1:
            return np.array([schedule.sigma_max, 0.0])
        ramp = np.linspace(0.0, 1.0, self.steps)
        low, high = schedule.sigma_min ** (1.0 / self.rho), schedule.sigma_max ** (1.0 / self.rho)
        sigmas = (high + ramp * (low - high)) ** self.rho
        # Endpoints exactly on the table, so the timesteps map back to 0 and T - 1.
        sigmas[0], sigmas[-1] = schedule.sigma_max, schedule.sigma_min
        return np.concatenate([sigmas, [0.0]])

    def _tables(self, schedule):
        sigmas = self.sigmas(schedule)
        timesteps = schedule.timestep_from_sigma(np.maximum(sigmas, schedule.sigma_min))
        alphas = 1.0 / np.sqrt(1.0 + sigmas**2)
        # The next level where it is positive, else a stand-in (its evaluation is masked out).
        safe_next = np.where(sigmas[1:] > 0, sigmas[1:], sigmas[:-1])
        return _Tables(
            sigma=sigmas[:-1],
            t=timesteps[:-1],
            alpha=alphas[:-1],
            sigma_next=sigmas[1:],
            alpha_next=alphas[1:],
            safe_next=safe_next,
            t_next=timesteps[1:],
            safe_alpha_next=1.0 / np.sqrt(1.0 + safe_next**2),
            second_order=(sigmas[1:] > 0).astype(np.float64),
        ), sigmas

    def run(self, denoise, schedule, noise, seed_generator, return_trajectory):
        tables, sigmas = self._tables(schedule)
        heun = isinstance(self, HeunSampler)

        def derivative(y, sigma, t, alpha):
            x0, _ = denoise(alpha * y, t, alpha, alpha * sigma)
            return (y - x0) / sigma

        def body(index, y):
            c = tables.at(index)
            step = c["sigma_next"] - c["sigma"]
            slope = derivative(y, c["sigma"], c["t"], c["alpha"])
            euler = y + step * slope
            if not heun:
                return euler
            slope_next = derivative(euler, c["safe_next"], c["t_next"], c["safe_alpha_next"])
            corrected = y + step * 0.5 * (slope + slope_next)
            return c["second_order"] * corrected + (1.0 - c["second_order"]) * euler

        # x_T = alpha_T y_T: the standard normal start in the variance-preserving view.
        y = noise * float(np.sqrt(1.0 + sigmas[0] ** 2))
        alpha_next = tables.tables["alpha_next"]
        # States in the variance-preserving view x = alpha y, comparable with the other samplers.
        y, states = trajectory_loop(
            self.steps, body, y, return_trajectory, lambda index, inner: ops.take(alpha_next, index) * inner, noise
        )
        return y, states

    def get_config(self):
        return {**super().get_config(), "rho": self.rho}


@register_sampler("euler")
class EulerSampler(_EDMSampler):
    """Euler's method on the probability-flow ODE `dy/dsigma = (y - D(y, sigma)) / sigma` over Karras' sigmas.

    Works in the EDM view `y = x / alpha`, `sigma = sigma_t / alpha_t`; any
    variance-preserving model is its denoiser `D` through the schedule.

    Args:
        steps: number of steps (one network evaluation each).
        rho: spacing exponent of the sigmas (7 in EDM; larger spends more steps at low noise).
        clip_x0: bound of the clipped x0 predictions (see `DiffusionSampler`), or None.

    Example:
    ```python
    ddpm.generate(16, sampler=EulerSampler(steps=30))
    ```

    Reference:
        Karras et al., "Elucidating the Design Space of Diffusion-Based Generative Models",
        NeurIPS 2022 (eq. 5, Algorithm 1 without the correction).
    """


@register_sampler("heun")
class HeunSampler(_EDMSampler):
    """Heun's second-order method on the probability-flow ODE over Karras' sigmas (EDM Algorithm 1).

    Each step but the last (which lands on `sigma = 0`) corrects Euler's
    step with the slope at its end: `2 * steps - 1` network evaluations.

    Args:
        steps: number of steps.
        rho: spacing exponent of the sigmas.
        clip_x0: bound of the clipped x0 predictions (see `DiffusionSampler`), or None.

    Example:
    ```python
    ddpm.generate(16, sampler=HeunSampler(steps=18))
    ```

    Reference:
        Karras et al., "Elucidating the Design Space of Diffusion-Based Generative Models",
        NeurIPS 2022 (Algorithm 1).
    """

    def __init__(self, steps=18, rho=7.0, clip_x0=None):
        super().__init__(steps, rho, clip_x0)
