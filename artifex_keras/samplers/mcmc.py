"""Markov chain samplers for an energy `E(x)`, whose density is proportional to `exp(-E(x))`.

Each sampler runs its whole chain in one `ops.fori_loop`, so it compiles into
the caller's function (the compiled sampling call, the JAX training step).
The energy's input gradient comes from `artifex_keras.backend.value_and_input_gradient`;
the chain itself is not differentiated (its states are `stop_gradient`ed).

Example:
```python
from artifex_keras import samplers
sampler = samplers.MALASampler(steps=100, step_size=0.05)
x, acceptance = sampler.run(energy, x0, seed_generator)   # energy: (batch, ...) -> (batch,)
ebm.generate(64, sampler=samplers.HMCSampler(steps=50, step_size=0.1, leapfrog_steps=5))
```
"""

import abc
import math

import keras
from keras import ops

from artifex_keras import validation
from artifex_keras.backend import value_and_input_gradient
from artifex_keras.samplers.base import Sampler
from artifex_keras.samplers.base import draw_with_state
from artifex_keras.samplers.base import loop_seed_state
from artifex_keras.samplers.base import register_sampler


def _sum_event(value):
    """Sum over every axis but the first: one number per chain."""
    return ops.sum(ops.reshape(value, (ops.shape(value)[0], -1)), axis=-1)


def _energy_and_gradient(energy_fn, x):
    energy, gradient = value_and_input_gradient(energy_fn, x)
    return ops.stop_gradient(energy), ops.stop_gradient(gradient)


class ChainRandomness:
    """Normal and uniform draws on the seed state a chain carries through its loop."""

    def __init__(self, seed_generator, state):
        self.seed_generator = seed_generator
        self.state = state

    def normal(self, shape):
        value, self.state = draw_with_state(
            self.seed_generator, self.state, lambda: keras.random.normal(shape, seed=self.seed_generator)
        )
        return value

    def uniform(self, shape):
        value, self.state = draw_with_state(
            self.seed_generator, self.state, lambda: keras.random.uniform(shape, seed=self.seed_generator)
        )
        return value


class MCMCSampler(Sampler, abc.ABC):
    """Base of the energy samplers: `steps` transitions of size `step_size` from a starting batch.

    Subclasses implement `transition(energy_fn, x, randomness)`, returning the
    next states and each chain's acceptance probability (ones where every
    proposal is taken); `randomness` is a `ChainRandomness`.
    """

    def __init__(self, steps=100, step_size=0.01):
        owner = type(self).__name__
        self.steps = validation.check_positive_int(owner, "steps", steps)
        self.step_size = validation.check_positive_number(owner, "step_size", step_size)

    def get_config(self):
        return {"steps": self.steps, "step_size": self.step_size}

    def run(self, energy_fn, x, seed_generator):
        """`(x, acceptance_rate)` after `steps` transitions from `x` (the rate averages chains and steps).

        Args:
            energy_fn: maps a batch `(batch, ...)` to its energies `(batch,)`;
                it must not draw random numbers or update state.
            x: the starting states.
            seed_generator: the `SeedGenerator` the chain draws from (it
                advances once per call).
        """
        x = ops.stop_gradient(ops.convert_to_tensor(x, "float32"))

        def step(_, carry):
            x, state, accepted = carry
            randomness = ChainRandomness(seed_generator, state)
            x, acceptance = self.transition(energy_fn, x, randomness)
            return ops.stop_gradient(x), randomness.state, accepted + ops.mean(acceptance)

        start = (x, loop_seed_state(seed_generator), ops.zeros((), "float32"))
        x, _, accepted = ops.fori_loop(0, self.steps, step, start)
        return x, accepted / self.steps

    @abc.abstractmethod
    def transition(self, energy_fn, x, randomness):
        """One Markov-chain move from `x`: `(x_next, acceptance)`, acceptance per chain in [0, 1]."""


@register_sampler("langevin")
class LangevinSampler(MCMCSampler):
    """Unadjusted Langevin dynamics: `x - step_size * grad E(x) + noise_scale * sqrt(2 step_size) * z`.

    With `noise_scale=1` the chain targets `exp(-E)` up to a bias of order
    `step_size`; energy-based training often uses a smaller noise scale
    (stochastic gradient Langevin dynamics as in Du & Mordatch, 2019).

    Args:
        steps: number of transitions.
        step_size: the gradient step.
        noise_scale: multiplies the injected noise.

    Example:
    ```python
    x, _ = LangevinSampler(steps=200, step_size=0.01).run(energy, x0, seed_generator)
    ```

    Reference: Roberts & Tweedie, "Exponential convergence of Langevin distributions", 1996.
    """

    def __init__(self, steps=100, step_size=0.01, noise_scale=1.0):
        super().__init__(steps, step_size)
        self.noise_scale = validation.check_non_negative_number(type(self).__name__, "noise_scale", noise_scale)

    def get_config(self):
        return {**super().get_config(), "noise_scale": self.noise_scale}

    def transition(self, energy_fn, x, randomness):
        _, gradient = _energy_and_gradient(energy_fn, x)
        noise = randomness.normal(ops.shape(x))
        x = x - self.step_size * gradient + self.noise_scale * math.sqrt(2.0 * self.step_size) * noise
        return x, ops.ones((ops.shape(x)[0],), "float32")


@register_sampler("mala")
class MALASampler(MCMCSampler):
    """Metropolis-adjusted Langevin: a Langevin proposal accepted with the Metropolis-Hastings rule.

    Exact for any step size (the acceptance corrects the discretisation);
    the acceptance rate falls as `step_size` grows, about 0.57 is efficient.

    Args:
        steps: number of transitions.
        step_size: the proposal's gradient step (its noise variance is `2 * step_size`).

    Example:
    ```python
    x, acceptance = MALASampler(steps=200, step_size=0.1).run(energy, x0, seed_generator)
    ```

    Reference: Roberts & Tweedie, 1996; Besag, 1994.
    """

    def _log_proposal(self, to, start, start_gradient):
        """`log q(to | start)` up to a constant shared by both directions."""
        return -_sum_event(ops.square(to - start + self.step_size * start_gradient)) / (4.0 * self.step_size)

    def transition(self, energy_fn, x, randomness):
        energy, gradient = _energy_and_gradient(energy_fn, x)
        proposal = x - self.step_size * gradient + math.sqrt(2.0 * self.step_size) * randomness.normal(ops.shape(x))
        proposal_energy, proposal_gradient = _energy_and_gradient(energy_fn, proposal)
        log_ratio = (
            energy
            - proposal_energy
            + self._log_proposal(x, proposal, proposal_gradient)
            - self._log_proposal(proposal, x, gradient)
        )
        return _metropolis(x, proposal, log_ratio, randomness)


@register_sampler("hmc")
class HMCSampler(MCMCSampler):
    """Hamiltonian Monte Carlo: `leapfrog_steps` leapfrog steps with a fresh unit-Gaussian momentum, then accept/reject.

    Args:
        steps: number of transitions (each one trajectory).
        step_size: the leapfrog step.
        leapfrog_steps: leapfrog steps per trajectory.

    Example:
    ```python
    x, acceptance = HMCSampler(steps=100, step_size=0.2, leapfrog_steps=5).run(energy, x0, seed_generator)
    ```

    Reference: Neal, "MCMC using Hamiltonian dynamics", 2011.
    """

    def __init__(self, steps=100, step_size=0.1, leapfrog_steps=5):
        super().__init__(steps, step_size)
        self.leapfrog_steps = validation.check_positive_int(type(self).__name__, "leapfrog_steps", leapfrog_steps)

    def get_config(self):
        return {**super().get_config(), "leapfrog_steps": self.leapfrog_steps}

    def transition(self, energy_fn, x, randomness):
        momentum = randomness.normal(ops.shape(x))
        energy, gradient = _energy_and_gradient(energy_fn, x)
        start_hamiltonian = energy + 0.5 * _sum_event(ops.square(momentum))
        position = x
        half = 0.5 * self.step_size
        momentum = momentum - half * gradient
        for index in range(self.leapfrog_steps):
            position = position + self.step_size * momentum
            proposal_energy, gradient = _energy_and_gradient(energy_fn, position)
            last = index == self.leapfrog_steps - 1
            momentum = momentum - (half if last else self.step_size) * gradient
        end_hamiltonian = proposal_energy + 0.5 * _sum_event(ops.square(momentum))
        return _metropolis(x, position, start_hamiltonian - end_hamiltonian, randomness)


def _metropolis(x, proposal, log_ratio, randomness):
    """Take each chain's proposal with probability `min(1, exp(log_ratio))`; non-finite ratios reject."""
    log_ratio = ops.where(ops.isfinite(log_ratio), log_ratio, -float("inf"))
    probability = ops.exp(ops.minimum(log_ratio, 0.0))
    accept = randomness.uniform(ops.shape(probability)) < probability
    mask = ops.reshape(accept, (-1,) + (1,) * (len(x.shape) - 1))
    return ops.where(mask, proposal, x), probability
