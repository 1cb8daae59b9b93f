"""Token samplers: pick one category per row of logits (autoregressive priors, language models).

Example:
```python
from artifex_keras import samplers
sampler = samplers.TopKSampler(k=10, temperature=0.8)
ids = sampler.next_token(logits, seed_generator)      # (batch,) int32 from (batch, num_categories)
vqvae.generate(16, sampler=sampler)                     # the VQ-VAE prior draws its codes with it
```
"""

import math
import numbers

import keras
import numpy as np
from keras import ops

from artifex_keras import validation
from artifex_keras.samplers.base import Sampler
from artifex_keras.samplers.base import register_sampler

_TINY = float(np.finfo("float32").tiny)


class TokenSampler(Sampler):
    """Base of the samplers that draw one category per row of logits.

    Subclasses implement `next_token(logits, seed_generator)`: logits
    `(batch, num_categories)` in, int32 ids `(batch,)` out.
    """

    def next_token(self, logits, seed_generator):
        """Ids `(batch,)` drawn from `logits` `(batch, num_categories)`."""
        return _gumbel_argmax(self.filter_logits(ops.convert_to_tensor(logits)), seed_generator)

    def filter_logits(self, logits):
        """The logits actually sampled from: scaled by the temperature, with excluded categories at -inf."""
        return logits

    def check_categories(self, owner, num_categories):
        """Raise a clear error when the sampler cannot draw from `num_categories` categories."""


def _gumbel_argmax(logits, seed_generator):
    """A draw from `softmax(logits)`: `argmax(logits + g)` with Gumbel noise `g = -log(-log(u))`."""
    uniform = keras.random.uniform(ops.shape(logits), minval=_TINY, maxval=1.0, seed=seed_generator)
    return ops.cast(ops.argmax(logits - ops.log(-ops.log(uniform)), axis=-1), "int32")


def _check_temperature(owner, temperature):
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not math.isfinite(temperature):
        raise ValueError(f"{owner}: `temperature` must be a positive number, got {temperature!r}")
    if temperature <= 0:
        raise ValueError(f"{owner}: `temperature` must be a positive number, got {temperature!r}")
    return float(temperature)


@register_sampler("greedy")
class GreedySampler(TokenSampler):
    """The most likely category of every row (deterministic).

    Example:
    ```python
    GreedySampler().next_token(logits, seed_generator)    # == argmax(logits, axis=-1)
    ```
    """

    def next_token(self, logits, seed_generator):
        return ops.cast(ops.argmax(logits, axis=-1), "int32")


@register_sampler("random")
class RandomSampler(TokenSampler):
    """A draw from `softmax(logits / temperature)`; `temperature=1` samples the model's own distribution.

    Args:
        temperature: below 1 sharpens the distribution, above 1 flattens it.

    Example:
    ```python
    vqvae.generate(16, sampler=RandomSampler(temperature=0.9))
    ```
    """

    def __init__(self, temperature=1.0):
        self.temperature = _check_temperature(type(self).__name__, temperature)

    def filter_logits(self, logits):
        return logits / self.temperature

    def get_config(self):
        return {"temperature": self.temperature}


@register_sampler("top_k")
class TopKSampler(RandomSampler):
    """A draw from the `k` most likely categories, renormalised (Fan et al., 2018).

    Args:
        k: how many of the most likely categories stay (ties with the k-th stay too).
        temperature: as in `RandomSampler`, applied before the cut.

    Example:
    ```python
    vqvae.generate(16, sampler=TopKSampler(k=8))
    ```

    Reference:
        Fan, Lewis & Dauphin, "Hierarchical Neural Story Generation", ACL 2018.
    """

    def __init__(self, k=5, temperature=1.0):
        super().__init__(temperature)
        self.k = validation.check_positive_int(type(self).__name__, "k", k)

    def filter_logits(self, logits):
        scaled = super().filter_logits(logits)
        threshold = ops.top_k(scaled, self.k)[0][..., -1:]
        return ops.where(scaled < threshold, -np.inf, scaled)

    def check_categories(self, owner, num_categories):
        if self.k > num_categories:
            raise ValueError(
                f"{owner}: TopKSampler `k` must be at most the number of categories ({num_categories}), got {self.k}"
            )

    def get_config(self):
        return {"k": self.k, **super().get_config()}


@register_sampler("top_p")
class TopPSampler(RandomSampler):
    """Nucleus sampling: a draw from the smallest set of categories whose probability reaches `p`.

    Args:
        p: the probability mass kept, in (0, 1]; the most likely category always stays.
        temperature: as in `RandomSampler`, applied before the cut.

    Example:
    ```python
    vqvae.generate(16, sampler=TopPSampler(p=0.9))
    ```

    Reference:
        Holtzman et al., "The Curious Case of Neural Text Degeneration", ICLR 2020.
    """

    def __init__(self, p=0.9, temperature=1.0):
        super().__init__(temperature)
        owner = type(self).__name__
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 < p <= 1.0:
            raise ValueError(f"{owner}: `p` must be a number in (0, 1], got {p!r}")
        self.p = float(p)

    def filter_logits(self, logits):
        scaled = super().filter_logits(logits)
        descending = ops.flip(ops.sort(scaled, axis=-1), axis=-1)
        probabilities = ops.softmax(descending, axis=-1)
        # A category stays when the mass of the categories before it is still below p.
        mass_before = ops.cumsum(probabilities, axis=-1) - probabilities
        kept = ops.where(mass_before < self.p, descending, np.inf)
        threshold = ops.min(kept, axis=-1, keepdims=True)
        return ops.where(scaled < threshold, -np.inf, scaled)

    def get_config(self):
        return {"p": self.p, **super().get_config()}
