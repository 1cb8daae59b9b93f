"""Score-based SDEs and their samplers: VP, VE and sub-VP diffusions, predictor-corrector and probability flow.

An `SDE` is a small serialisable object for a linear forward diffusion
`dx = f(x, t) dt + g(t) dw` on `t` in `[eps, 1]`, with `f(x, t) = a(t) x`: its
drift `f`, diffusion `g`, the closed-form perturbation kernel
`p_t(x | x0) = N(m(t) x0, s(t)^2 I)`, and its prior (what `x(1)` is drawn
from). A sampler takes a score function `score(x, t) ~ grad_x log p_t(x)`
(`t` float32 of shape `(batch,)`), the SDE and a prior draw `x(1)`, and
solves backwards to `t = eps`: the reverse-time SDE
`dx = [f - g^2 score] dt + g dw_bar` (Euler-Maruyama or reverse-diffusion
predictors, optionally with Langevin corrector steps) or the probability-flow
ODE `dx/dt = f - g^2 score / 2`, which also gives exact log-likelihoods.
Every loop is one `ops.fori_loop`; random draws go through the loop's seed
state (`draw_with_state`).

Example:
```python
from artifex_keras import samplers
sde = samplers.VPSDE(beta_min=0.1, beta_max=20.0)
x1 = sde.prior_sample((16, 2), seed_generator)
x = samplers.PredictorCorrectorSampler(steps=500, snr=0.16).sample(score, sde, x1, seed_generator)
x = samplers.ProbabilityFlowSampler(steps=50).sample(score, sde, x1)
log_p = samplers.ProbabilityFlowSampler(steps=50).log_prob(score, sde, x, seed_generator, num_probes=4)
score_sde.generate(16, sampler=samplers.EulerMaruyamaSampler(steps=1000))
```

Reference:
    Song et al., "Score-Based Generative Modeling through Stochastic Differential Equations", ICLR 2021.
"""

import abc
import math
import numbers

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.backend import value_and_input_gradient
from artifex_keras.named_classes import NamedClasses
from artifex_keras.samplers.base import Sampler
from artifex_keras.samplers.base import draw_with_state
from artifex_keras.samplers.base import loop_seed_state
from artifex_keras.samplers.base import register_sampler
from artifex_keras.samplers.base import trajectory_loop
from artifex_keras.samplers.ode import ODEEulerSampler
from artifex_keras.samplers.ode import ODEHeunSampler
from artifex_keras.samplers.ode import ODEMidpointSampler
from artifex_keras.samplers.ode import ODERK4Sampler

SDES = NamedClasses("sde", "sde.get", name_attribute="sde_name", keras_serializable=True)
PREDICTORS = ("reverse_diffusion", "euler_maruyama")
ESTIMATORS = ("rademacher", "gaussian", "exact")
SOLVERS = {"euler": ODEEulerSampler, "heun": ODEHeunSampler, "midpoint": ODEMidpointSampler, "rk4": ODERK4Sampler}


def register_sde(name):
    """Class decorator: `sde.get(name)` builds this class; also registers it for Keras serialisation."""
    return SDES.register(name)


def list_sdes():
    """Sorted names that `get` accepts."""
    return SDES.names()


def serialize(sde):
    """`{"class_name": NAME, "config": {...}}`: what `get` rebuilds an SDE from."""
    return {"class_name": sde.sde_name, "config": sde.get_config()}


def get(identifier):
    """An `SDE` from a registered name ("vp", "ve", "subvp"), a `serialize` dict or an instance."""
    return SDES.get(identifier, SDE)


def _check_number(owner, name, value, positive=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{owner}: `{name}` must be a positive number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive number, got {value!r}")
    return float(value)


def _column(coefficient, x):
    """A per-example coefficient `(batch,)` (or a scalar) shaped to broadcast against `x`."""
    coefficient = ops.cast(coefficient, x.dtype)
    if len(coefficient.shape) == 0:
        return coefficient
    return ops.reshape(coefficient, (-1,) + (1,) * (len(x.shape) - 1))


def _event_sum(x):
    return ops.sum(ops.reshape(x, (ops.shape(x)[0], -1)), axis=1)


class SDE(abc.ABC):
    """Base of the linear SDEs `dx = a(t) x dt + g(t) dw` on `[eps, 1]`.

    Subclasses implement `drift_coefficient(t)` (`a(t)`), `diffusion(t)`,
    `marginal(t)` and `prior_std`, and list their arguments in `get_config()`.
    `t` is a float32 tensor (a scalar or `(batch,)`); coefficients come back
    shaped like `t`.

    Args:
        eps: the smallest time: sampling stops there and likelihoods are of `p_eps`
            (the kernel's variance vanishes at 0).
    """

    sde_name = None
    default_eps = 1e-3

    def __init__(self, eps=None):
        owner = type(self).__name__
        eps = self.default_eps if eps is None else eps
        self.eps = _check_number(owner, "eps", eps)
        if not self.eps < 1.0:
            raise ValueError(f"{owner}: `eps` must be a number in (0, 1), got {eps!r}")

    # The process --------------------------------------------------------------
    @abc.abstractmethod
    def drift_coefficient(self, t):
        """`a(t)` of the drift `f(x, t) = a(t) x`."""

    def drift(self, x, t):
        """`f(x, t) = a(t) x`."""
        return _column(self.drift_coefficient(t), x) * x

    @abc.abstractmethod
    def diffusion(self, t):
        """`g(t)`."""

    @abc.abstractmethod
    def marginal(self, t):
        """`(m(t), s(t))`: `p_t(x | x0) = N(m(t) x0, s(t)^2 I)`, in closed form."""

    def perturbation_kernel(self, x0, t):
        """`(mean, std)` of `p_t(x | x0)`: `m(t) x0` and `s(t)` shaped to broadcast against `x0`."""
        x0 = ops.cast(x0, "float32")
        mean, std = self.marginal(ops.cast(t, "float32"))
        return _column(mean, x0) * x0, _column(std, x0)

    def reverse_drift(self, score, x, t):
        """Drift of the reverse-time SDE, `f - g^2 score` (eq. 6), run with `dt < 0`."""
        g = _column(self.diffusion(t), x)
        return self.drift(x, t) - g * g * score(x, t)

    def probability_flow(self, score, x, t):
        """Velocity of the probability-flow ODE, `f - g^2 score / 2` (eq. 13): the same marginals, deterministic."""
        g = _column(self.diffusion(t), x)
        return self.drift(x, t) - 0.5 * g * g * score(x, t)

    def discretize(self, x, t, h):
        """`(f_d, G_d)` of the discrete forward step `x(t) = x(t - h) + f_d + G_d z` (Euler-Maruyama by default)."""
        return self.drift(x, t) * h, self.diffusion(t) * math.sqrt(h)

    def corrector_alpha(self, t, h):
        """The `alpha_i` of the Langevin corrector's step size (Algorithm 5): 1, or `1 - beta_d` for VP kinds."""
        return ops.ones_like(t)

    # The prior ----------------------------------------------------------------
    @property
    @abc.abstractmethod
    def prior_std(self):
        """Standard deviation of the prior `p_1 = N(0, prior_std^2 I)`."""

    def prior_sample(self, shape, seed_generator):
        """A draw of the prior `N(0, prior_std^2 I)` that sampling starts from."""
        return self.prior_std * keras.random.normal(shape, seed=seed_generator)

    def prior_log_prob(self, z):
        """`log N(z; 0, prior_std^2 I)` per example, summed over the non-batch axes."""
        z = ops.cast(z, "float32")
        dims = math.prod(z.shape[1:])
        variance = self.prior_std**2
        return -0.5 * _event_sum(z * z) / variance - 0.5 * dims * math.log(2.0 * math.pi * variance)

    # Config -------------------------------------------------------------------
    def get_config(self):
        return {"eps": self.eps}

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


class _BetaSDE(SDE):
    """Shared by VP and sub-VP: a linear `beta(t) = beta_min + t (beta_max - beta_min)`."""

    def __init__(self, beta_min=0.1, beta_max=20.0, eps=None):
        super().__init__(eps)
        owner = type(self).__name__
        self.beta_min = _check_number(owner, "beta_min", beta_min)
        self.beta_max = _check_number(owner, "beta_max", beta_max)
        if self.beta_max < self.beta_min:
            raise ValueError(f"{owner}: `beta_max` must be at least beta_min ({self.beta_min}), got {beta_max!r}")

    def beta(self, t):
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def log_mean(self, t):
        """`log m(t) = -(1/2) int_0^t beta = -t^2 (beta_max - beta_min) / 4 - t beta_min / 2`."""
        return -0.25 * t * t * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

    def drift_coefficient(self, t):
        return -0.5 * self.beta(t)

    def corrector_alpha(self, t, h):
        return ops.exp(2.0 * (self.log_mean(t) - self.log_mean(t - h)))

    @property
    def prior_std(self):
        return 1.0

    def get_config(self):
        return {"beta_min": self.beta_min, "beta_max": self.beta_max, **super().get_config()}


@register_sde("vp")
class VPSDE(_BetaSDE):
    """The variance-preserving SDE `dx = -beta(t) x / 2 dt + sqrt(beta(t)) dw`: continuous DDPM (eq. 11).

    `m(t) = exp(-(1/2) int_0^t beta)`, `s(t)^2 = 1 - m(t)^2`; prior `N(0, I)`.

    Args:
        beta_min: `beta(0)`.
        beta_max: `beta(1)`.
        eps: smallest time (default 1e-3).

    Example:
    ```python
    mean, std = VPSDE().perturbation_kernel(x0, t)
    ```

    Reference:
        Song et al., ICLR 2021 (eqs. 11 and 29).
    """

    def diffusion(self, t):
        return ops.sqrt(self.beta(t))

    def marginal(self, t):
        log_mean = self.log_mean(t)
        # -expm1: 1 - m^2 without cancellation at small t.
        return ops.exp(log_mean), ops.sqrt(-ops.expm1(2.0 * log_mean))

    def discretize(self, x, t, h):
        # DDPM's step from t - h to t, x(t) = sqrt(1 - beta_d) x(t - h) + sqrt(beta_d) z, with the exact
        # 1 - beta_d = m(t)^2 / m(t - h)^2 (about 1 - beta(t) h; valid for any h, unlike 1 - beta(t) h).
        log_keep = 2.0 * (self.log_mean(t) - self.log_mean(t - h))
        return _column(ops.exp(0.5 * log_keep) - 1.0, x) * x, ops.sqrt(-ops.expm1(log_keep))


@register_sde("subvp")
class SubVPSDE(_BetaSDE):
    """The sub-VP SDE: VP's drift, diffusion `sqrt(beta(t) (1 - exp(-2 int_0^t beta)))` (eq. 17).

    `m(t)` as VP, `s(t) = 1 - m(t)^2`: below VP's variance at every time; prior `N(0, I)`.

    Args:
        beta_min: `beta(0)`.
        beta_max: `beta(1)`.
        eps: smallest time (default 1e-3).

    Example:
    ```python
    sampler.sample(score, SubVPSDE(), noise, seed_generator)
    ```

    Reference:
        Song et al., ICLR 2021 (eqs. 17 and 29).
    """

    def diffusion(self, t):
        return ops.sqrt(self.beta(t) * -ops.expm1(4.0 * self.log_mean(t)))

    def marginal(self, t):
        log_mean = self.log_mean(t)
        return ops.exp(log_mean), -ops.expm1(2.0 * log_mean)


@register_sde("ve")
class VESDE(SDE):
    """The variance-exploding SDE `dx = sqrt(d sigma(t)^2 / dt) dw`, `sigma(t) = sigma_min (sigma_max / sigma_min)^t`.

    `m(t) = 1`, `s(t)^2 = sigma(t)^2 - sigma_min^2` (eq. 30, the kernel from
    `x(0)`); `g(t) = sigma(t) sqrt(2 log(sigma_max / sigma_min))`; prior
    `N(0, sigma_max^2 I)`. The continuous NCSN (SMLD).

    Args:
        sigma_min: `sigma(0)`.
        sigma_max: `sigma(1)`, about the largest distance between data points.
        eps: smallest time (default 1e-5).

    Example:
    ```python
    x1 = VESDE(sigma_max=50.0).prior_sample((16, 32, 32, 3), seed_generator)
    ```

    Reference:
        Song et al., ICLR 2021 (eqs. 9 and 30); Song & Ermon, "Generative Modeling by Estimating
        Gradients of the Data Distribution", NeurIPS 2019.
    """

    default_eps = 1e-5

    def __init__(self, sigma_min=0.01, sigma_max=50.0, eps=None):
        super().__init__(eps)
        owner = type(self).__name__
        self.sigma_min = _check_number(owner, "sigma_min", sigma_min)
        self.sigma_max = _check_number(owner, "sigma_max", sigma_max)
        if not self.sigma_max > self.sigma_min:
            raise ValueError(f"{owner}: `sigma_max` must exceed sigma_min ({self.sigma_min}), got {sigma_max!r}")
        self.log_ratio = math.log(self.sigma_max / self.sigma_min)

    def sigma(self, t):
        return self.sigma_min * ops.exp(t * self.log_ratio)

    def drift_coefficient(self, t):
        return ops.zeros_like(t)

    def diffusion(self, t):
        return self.sigma(t) * math.sqrt(2.0 * self.log_ratio)

    def marginal(self, t):
        # sigma_min sqrt((sigma_max / sigma_min)^(2t) - 1), exact at small t.
        return ops.ones_like(t), self.sigma_min * ops.sqrt(ops.expm1(2.0 * t * self.log_ratio))

    def discretize(self, x, t, h):
        # SMLD's step from t - h to t: the variance grows by sigma(t)^2 - sigma(t - h)^2.
        sigma, previous = self.sigma(t), self.sigma(t - h)
        return ops.zeros_like(x), ops.sqrt(sigma * sigma - previous * previous)

    @property
    def prior_std(self):
        return self.sigma_max

    def get_config(self):
        return {"sigma_min": self.sigma_min, "sigma_max": self.sigma_max, **super().get_config()}


# Samplers ---------------------------------------------------------------------------
class SDESampler(Sampler, abc.ABC):
    """Base of the samplers of score-based SDEs: from a prior draw at `t = 1` back to `t = eps` in `steps` steps.

    Subclasses implement `run(score, sde, x, seed_generator, return_trajectory)`
    with `score(x, t)` taking a float32 scalar time.

    Args:
        steps: number of equal steps from 1 to the SDE's `eps`.
    """

    def __init__(self, steps=1000):
        self.steps = validation.check_positive_int(type(self).__name__, "steps", steps)

    def sample(self, score, sde, noise, seed_generator=None, return_trajectory=False):
        """Samples from `noise` (a draw of `sde`'s prior) by solving backwards with `score`.

        Args:
            score: `score(x, t) -> grad_x log p_t(x)`, `t` float32 of shape `(batch,)`.
            sde: the `SDE` the score was trained for.
            noise: the state at `t = 1`, `(batch, ...)`.
            seed_generator: the `keras.random.SeedGenerator` stochastic samplers draw from.
            return_trajectory: also return the states `(steps + 1, batch, ...)`, from `noise` to the samples.

        Returns:
            The samples at `t = eps`, or `(samples, trajectory)`.
        """
        owner = type(self).__name__
        if not isinstance(sde, SDE):
            raise ValueError(f"{owner}: `sde` must be an SDE (VPSDE, VESDE, SubVPSDE), got {sde!r}")
        x = ops.cast(noise, "float32")
        batch = ops.shape(x)[0]

        def field(state, t):
            return ops.cast(score(state, ops.ones((batch,), dtype="float32") * t), "float32")

        samples, states = self.run(field, sde, x, seed_generator, return_trajectory)
        if not return_trajectory:
            return samples
        return samples, ops.concatenate([x[None], states], axis=0)

    def step_size(self, sde):
        return (1.0 - sde.eps) / self.steps

    @abc.abstractmethod
    def run(self, score, sde, x, seed_generator, return_trajectory):
        """The reverse-time loop from the prior draw `x`: `(samples, states)`, `states` the trajectory or None."""

    def get_config(self):
        return {"steps": self.steps}


@register_sampler("pc")
class PredictorCorrectorSampler(SDESampler):
    """Predictor-corrector sampling of the reverse-time SDE (Algorithms 2-3, with the corrector of Algorithm 5).

    At each time `t_i = 1 - i h` (`h = (1 - eps) / steps`) it runs
    `corrector_steps` Langevin steps `x <- x + e score + sqrt(2 e) z` with
    `e = 2 alpha_i (snr ||z|| / ||score||)^2` (norms averaged over the
    batch), then one predictor step to `t_i - h`:
    - "reverse_diffusion": the reverse of the SDE's discretisation,
      `x <- x - f_d + G_d^2 score + G_d z` (ancestral sampling for VP);
    - "euler_maruyama": `x <- x - h (f - g^2 score) + g sqrt(h) z`.
    The last step adds no noise (it returns the predictor's mean, Tweedie's
    denoising of `x(eps)` aside).

    Args:
        steps: number of predictor steps.
        corrector_steps: Langevin steps before each predictor step (0: predictor only).
        snr: the corrector's signal-to-noise ratio (0.16 for VE on CIFAR-10, about 0.01 for VP).
        predictor: "reverse_diffusion" or "euler_maruyama".

    Example:
    ```python
    score_sde.generate(16, sampler=PredictorCorrectorSampler(steps=1000, corrector_steps=1, snr=0.16))
    ```

    Reference:
        Song et al., ICLR 2021 (section 4.2; Algorithms 2, 3 and 5).
    """

    def __init__(self, steps=1000, corrector_steps=1, snr=0.16, predictor="reverse_diffusion"):
        super().__init__(steps)
        owner = type(self).__name__
        self.corrector_steps = validation.check_non_negative_int(owner, "corrector_steps", corrector_steps)
        self.snr = _check_number(owner, "snr", snr)
        if predictor not in PREDICTORS:
            raise ValueError(
                f"{owner}: `predictor` must be one of {', '.join(map(repr, PREDICTORS))}, got {predictor!r}"
            )
        self.predictor = predictor

    def run(self, score, sde, x, seed_generator, return_trajectory):
        h = self.step_size(sde)
        times = ops.convert_to_tensor((1.0 - h * np.arange(self.steps)).astype("float32"))
        shape = ops.shape(x)
        last = self.steps - 1

        def normal(seed_state):
            return draw_with_state(seed_generator, seed_state, lambda: keras.random.normal(shape, seed=seed_generator))

        def corrector(t, x, seed_state):
            alpha = sde.corrector_alpha(t, h)
            for _ in range(self.corrector_steps):
                grad = score(x, t)
                z, seed_state = normal(seed_state)
                grad_norm = ops.mean(ops.sqrt(_event_sum(grad * grad)))
                noise_norm = ops.mean(ops.sqrt(_event_sum(z * z)))
                size = 2.0 * alpha * ops.square(self.snr * noise_norm / grad_norm)
                x = x + size * grad + ops.sqrt(2.0 * size) * z
            return x, seed_state

        def predictor(t, x):
            s = score(x, t)
            if self.predictor == "euler_maruyama":
                g = sde.diffusion(t)
                return x - h * (sde.drift(x, t) - g * g * s), g * math.sqrt(h)
            f, big_g = sde.discretize(x, t, h)
            return x - f + big_g * big_g * s, big_g

        def body(index, carry):
            x, seed_state = carry
            t = ops.take(times, index)
            x, seed_state = corrector(t, x, seed_state)
            mean, std = predictor(t, x)
            z, seed_state = normal(seed_state)
            noisy = ops.cast(ops.less(index, last), "float32")
            return mean + noisy * std * z, seed_state

        (x, _), states = trajectory_loop(
            self.steps, body, (x, loop_seed_state(seed_generator)), return_trajectory, lambda i, c: c[0], x
        )
        return x, states

    def get_config(self):
        return {
            **super().get_config(),
            "corrector_steps": self.corrector_steps,
            "snr": self.snr,
            "predictor": self.predictor,
        }


@register_sampler("euler_maruyama")
class EulerMaruyamaSampler(PredictorCorrectorSampler):
    """Euler-Maruyama on the reverse-time SDE: `x <- x - h (f - g^2 score) + g sqrt(h) z`, no corrector.

    Args:
        steps: number of steps.

    Example:
    ```python
    score_sde.generate(16, sampler=EulerMaruyamaSampler(steps=1000))
    ```

    Reference:
        Song et al., ICLR 2021 (eq. 6 and Appendix F).
    """

    def __init__(self, steps=1000):
        super().__init__(steps, corrector_steps=0, predictor="euler_maruyama")

    def get_config(self):
        return {"steps": self.steps}


@register_sampler("reverse_diffusion")
class ReverseDiffusionSampler(PredictorCorrectorSampler):
    """The reverse-diffusion predictor alone: `x <- x - f_d + G_d^2 score + G_d z` (eq. 46).

    Args:
        steps: number of steps.

    Example:
    ```python
    score_sde.generate(16, sampler=ReverseDiffusionSampler(steps=1000))
    ```

    Reference:
        Song et al., ICLR 2021 (Appendix E, eq. 46).
    """

    def __init__(self, steps=1000):
        super().__init__(steps, corrector_steps=0, predictor="reverse_diffusion")

    def get_config(self):
        return {"steps": self.steps}


@register_sampler("probability_flow")
class ProbabilityFlowSampler(SDESampler):
    """The probability-flow ODE `dx/dt = f - g^2 score / 2` with a fixed-step solver: samples and log-likelihoods.

    Deterministic: the noise at `t = 1` decodes to one sample, and `log_prob`
    integrates the ODE forwards with the change of variables
    `d log p / dt = -div(f - g^2 score / 2)` (eq. 40), the divergence exact
    (one basis vector per dimension, for small data) or by Hutchinson's
    estimator `E[v^T J v]` with Rademacher or Gaussian probes `v` fixed along
    each trajectory. The vector-Jacobian products come from
    `artifex_keras.backend.value_and_input_gradient`, on every backend.

    Args:
        steps: number of solver steps between `eps` and 1.
        solver: "euler", "heun", "midpoint" or "rk4" (the `samplers.ode` solvers).

    Example:
    ```python
    score_sde.generate(16, sampler=ProbabilityFlowSampler(steps=50, solver="rk4"))
    score_sde.log_prob(x, sampler=ProbabilityFlowSampler(steps=100, solver="heun"), num_probes=4)
    ```

    Reference:
        Song et al., ICLR 2021 (section 4.3, Appendix D); Grathwohl et al., "FFJORD", ICLR 2019;
        Hutchinson, "A stochastic estimator of the trace of the influence matrix", 1989.
    """

    def __init__(self, steps=100, solver="rk4"):
        super().__init__(steps)
        if solver not in SOLVERS:
            raise ValueError(
                f"{type(self).__name__}: `solver` must be one of {', '.join(map(repr, SOLVERS))}, got {solver!r}"
            )
        self.solver = solver

    def ode_solver(self):
        return SOLVERS[self.solver](steps=self.steps)

    def run(self, score, sde, x, seed_generator, return_trajectory):
        result = self.ode_solver().sample(
            lambda y, t: sde.probability_flow(score, y, t), x, return_trajectory, t_start=1.0, t_end=sde.eps
        )
        if not return_trajectory:
            return result, None
        return result[0], result[1][1:]

    def log_prob(self, score, sde, x, seed_generator=None, estimator="rademacher", num_probes=1, return_latent=False):
        """`log p_eps(x)` per example (nats): the prior's density at the ODE's end plus the integrated divergence.

        Args:
            score: `score(x, t)`, `t` float32 `(batch,)`; it is called on batches of
                `num_probes * batch` examples (`dims * batch` for "exact").
            sde: the `SDE`.
            x: points `(batch, ...)`.
            seed_generator: the generator the probes are drawn from (not needed for "exact").
            estimator: "rademacher", "gaussian" (Hutchinson) or "exact" (one pass per dimension).
            num_probes: probes per example of Hutchinson's estimator, averaged.
            return_latent: also return the ODE's end point `x(1)`.

        Returns:
            `log_prob` `(batch,)`, or `(log_prob, latent)`.
        """
        owner = f"{type(self).__name__}.log_prob"
        if not isinstance(sde, SDE):
            raise ValueError(f"{owner}: `sde` must be an SDE (VPSDE, VESDE, SubVPSDE), got {sde!r}")
        if estimator not in ESTIMATORS:
            raise ValueError(
                f"{owner}: `estimator` must be one of {', '.join(map(repr, ESTIMATORS))}, got {estimator!r}"
            )
        num_probes = validation.check_positive_int(owner, "num_probes", num_probes)
        x = ops.cast(x, "float32")
        event = tuple(x.shape[1:])
        dims = math.prod(event)
        batch = ops.shape(x)[0]
        probes, weight = _probes(estimator, num_probes, x, seed_generator)
        copies = dims if estimator == "exact" else num_probes

        def augmented(state, t):
            y = ops.reshape(state[:, :dims], (batch, *event))
            tiled = ops.concatenate([y] * copies, axis=0) if copies > 1 else y
            times = ops.concatenate([t] * copies, axis=0) if copies > 1 else t

            def projected(u):
                velocity = ops.cast(sde.probability_flow(score, u, times), "float32")
                # The value is the velocity; the gradient of its sum is J^T v (one pass for both).
                return velocity * probes + ops.stop_gradient(velocity * (1.0 - probes))

            velocity, vjp = value_and_input_gradient(projected, tiled)
            divergence = weight * ops.sum(ops.reshape(_event_sum(vjp * probes), (copies, batch)), axis=0)
            velocity = ops.reshape(velocity[:batch], (batch, dims))
            return ops.concatenate([velocity, divergence[:, None]], axis=1)

        start = ops.concatenate([ops.reshape(x, (batch, dims)), ops.zeros((batch, 1), dtype="float32")], axis=1)
        end = self.ode_solver().sample(augmented, start, t_start=sde.eps, t_end=1.0)
        latent = ops.reshape(end[:, :dims], (batch, *event))
        # log p_eps(x) = log p_1(x(1)) + int_eps^1 div(velocity) dt.
        log_prob = sde.prior_log_prob(latent) + end[:, dims]
        return (log_prob, latent) if return_latent else log_prob

    def get_config(self):
        return {**super().get_config(), "solver": self.solver}


def _probes(estimator, num_probes, x, seed_generator):
    """`(probes, weight)`: probe vectors stacked over copies of the batch, and the weight of their sum."""
    batch = ops.shape(x)[0]
    if estimator == "exact":
        dims = math.prod(x.shape[1:])
        basis = ops.eye(dims, dtype="float32")
        # Copy k of the batch carries the k-th basis vector: the sum over copies is the trace.
        probes = ops.reshape(ops.repeat(basis, batch, axis=0), (dims * batch, *x.shape[1:]))
        return probes, 1.0
    if seed_generator is None:
        raise ValueError(f"ProbabilityFlowSampler.log_prob: the {estimator!r} estimator needs a `seed_generator`")
    shape = (num_probes * batch, *x.shape[1:])
    if estimator == "gaussian":
        probes = keras.random.normal(shape, seed=seed_generator)
    else:
        probes = 2.0 * ops.cast(keras.random.randint(shape, 0, 2, seed=seed_generator), "float32") - 1.0
    return probes, 1.0 / num_probes
