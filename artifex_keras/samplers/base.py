"""`Sampler`: a serialisable object that owns how a model draws samples.

A model owns its networks and its training objective; a sampler owns the
solver (a categorical rule, an ODE/SDE solver, an MCMC kernel) and its
settings. Any sampler of a kind the model accepts can be swapped in:
`model.generate(16, sampler=...)`. Samplers hold no random state: they draw
from the `SeedGenerator` the model hands them, which the compiled sampling
function (and the JAX training step) threads through.

Example:
```python
from artifex_keras import samplers
sampler = samplers.get("top_k")                      # by name, defaults
sampler = samplers.get({"class_name": "top_k", "config": {"k": 5}})
sampler = samplers.TopKSampler(k=5, temperature=0.8)
samplers.get(samplers.serialize(sampler)) == sampler    # True
```
"""

import json

import keras
from keras import ops
from keras.src.backend.common.stateless_scope import get_stateless_scope

from artifex_keras.named_classes import NamedClasses
from artifex_keras.progress import observed_loop_body

SAMPLERS = NamedClasses("sampler", "samplers.get", name_attribute="sampler_name", keras_serializable=True)


def register_sampler(name):
    """Class decorator: `samplers.get(name)` builds this class; also registers it for Keras serialisation."""
    return SAMPLERS.register(name)


class Sampler:
    """Base of every sampler: its constructor arguments are its config.

    Subclasses store each `__init__` argument under the same name and list
    them in `get_config()`; `from_config(config)` rebuilds an equal sampler.
    Two samplers with equal configs are equal, so a compiled sampling loop is
    reused for an equal sampler.
    """

    sampler_name = None

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def cache_key(self):
        """A hashable key: the class and its config (one compiled loop per key)."""
        return type(self).__name__, json.dumps(self.get_config(), sort_keys=True)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash(self.cache_key())

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def list_samplers():
    """Sorted names that `get` accepts."""
    return SAMPLERS.names()


def serialize(sampler):
    """The Keras config of a sampler (a dict `get` and `deserialize` accept)."""
    return keras.saving.serialize_keras_object(sampler)


def deserialize(config):
    """A sampler from `serialize`'s dict, or from `{"class_name": NAME, "config": {...}}` with a registered name."""
    return get(config)


def get(identifier):
    """A `Sampler` from a registered name, a config dict or an instance (None stays None).

    Example:
    ```python
    get("greedy"); get({"class_name": "random", "config": {"temperature": 0.7}}); get(TopKSampler(k=3))
    ```
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict) and "registered_name" in identifier and not SAMPLERS.lookup(
        identifier.get("class_name")
    ):
        sampler = keras.saving.deserialize_keras_object(identifier)  # a user's serialisable Sampler subclass
        if not isinstance(sampler, Sampler):
            raise ValueError(f"samplers.get: {identifier!r} does not describe a Sampler")
        return sampler
    return SAMPLERS.get(identifier, Sampler)


# Randomness inside compiled loops ----------------------------------------------
def loop_seed_state(seed_generator):
    """A fresh seed state for a compiled loop, drawn from `seed_generator` (which advances once).

    The loop carries this state and passes it to `draw_with_state` at every
    step: a fresh random stream per loop, so two loops never share draws.
    """
    dtype = seed_generator.state.dtype
    return ops.cast(keras.random.randint((2,), 0, 2**31 - 1, seed=seed_generator), dtype)


def draw_with_state(seed_generator, state, draw):
    """Run `draw()` with `seed_generator` at `state`; return `(draw(), next_state)`.

    A seed generator cannot advance inside an `ops.fori_loop`/`ops.scan`
    body (its variable is not part of the loop's carry), so a loop carries
    the state itself. Every other variable keeps the value the enclosing
    scope gives it (the weights of a compiled or training function).

    Example:
    ```python
    def step(i, carry):
        x, state = carry
        noise, state = draw_with_state(generator, state, lambda: keras.random.normal(shape, seed=generator))
        return x + noise, state

    x, _ = ops.fori_loop(0, steps, step, (x, loop_seed_state(generator)))
    ```
    """
    scope = keras.StatelessScope()
    outer = get_stateless_scope()
    if outer is not None:
        scope.state_mapping.update(outer.state_mapping)
    scope.state_mapping[id(seed_generator.state)] = state
    with scope:
        result = draw()
    return result, scope.get_current_value(seed_generator.state)


def trajectory_loop(steps, body, carry, return_trajectory, state_of, like):
    """`ops.fori_loop` over `body(i, carry)`; for a trajectory, also the states `state_of(i, carry)` stacked.

    The trajectory is a `(steps, *like.shape)` buffer carried through the same
    loop, row `i` written by a one-hot select (a dynamic slice update in every backend).
    Where loops step in Python (PyTorch), each step ticks the progress bar of
    `generate(..., progress=True)`.
    """
    body = observed_loop_body(steps, body)
    if not return_trajectory:
        return ops.fori_loop(0, steps, body, carry), None
    rows = ops.arange(steps, dtype="int32")
    broadcast = (steps,) + (1,) * len(like.shape)

    def traced(index, loop_carry):
        inner, buffer = loop_carry
        inner = body(index, inner)
        selected = ops.reshape(ops.equal(rows, index), broadcast)
        return inner, ops.where(selected, state_of(index, inner)[None], buffer)

    return ops.fori_loop(0, steps, traced, (carry, ops.zeros((steps, *like.shape), dtype=like.dtype)))
