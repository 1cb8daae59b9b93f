"""What a conditional model conditions on: class labels, a context vector or sequence, token ids or source images.

A model says what it takes with `condition_spec()` (None when it is
unconditional) and makes example conditions with `example_conditions(n)`;
the CLI, sample grids, evaluation and CAS ask the model instead of reading
its config.

Example:
```python
spec = cvae.condition_spec()          # ClassLabels(num_classes=10)
spec.argument                         # 'labels': generate(n, labels=...)
cvae.generate(8, **cvae.example_conditions(8))   # labels 0, 1, ..., 7
```
"""

import dataclasses
from typing import ClassVar

import numpy as np

from artifex_keras import validation


@dataclasses.dataclass(frozen=True)
class ClassLabels:
    """Integer class labels in `[0, num_classes)`, passed as `labels=`.

    Example:
    ```python
    ClassLabels(10).examples(12)          # [0, 1, ..., 9, 0, 1]
    ```
    """

    num_classes: int
    argument: ClassVar[str] = "labels"

    def examples(self, num_samples):
        """Labels cycling through the classes: `num_samples` int32 values."""
        return np.arange(num_samples, dtype="int32") % self.num_classes

    def check(self, owner, value, num_samples):
        """`value` as int32 labels `(num_samples,)`; a single int is repeated."""
        labels = np.asarray(value)
        if labels.ndim == 0:
            labels = np.full((num_samples,), labels)
        validation.check_labels(owner, self.argument, labels, self.num_classes, batch_size=num_samples)
        return labels.astype("int32")


@dataclasses.dataclass(frozen=True)
class ContextVector:
    """A float vector per sample (an embedding, physical parameters), passed as `condition=`.

    Example:
    ```python
    ContextVector((4,)).examples(2).shape   # (2, 4), standard normal, seeded
    ```
    """

    shape: tuple
    argument: ClassVar[str] = "condition"

    def examples(self, num_samples, seed=0):
        """Standard normal vectors `(num_samples, *shape)` from a fixed seed."""
        return np.random.default_rng(seed).standard_normal((num_samples, *self.shape)).astype("float32")

    def check(self, owner, value, num_samples):
        """`value` as finite float32 `(num_samples, *shape)`."""
        array = np.asarray(value)
        validation.check_batch(owner, self.argument, array, self.shape)
        if len(array) != num_samples:
            raise ValueError(f"{owner}: `{self.argument}` must hold {num_samples} vectors, got {len(array)}")
        return array.astype("float32")


@dataclasses.dataclass(frozen=True)
class ContextSequence(ContextVector):
    """A sequence of embeddings per sample `(tokens, context_dim)` (a text encoder's states), passed as `context=`.

    Example:
    ```python
    ContextSequence((7, 32)).examples(2).shape   # (2, 7, 32), standard normal, seeded
    ```
    """

    argument: ClassVar[str] = "context"


@dataclasses.dataclass(frozen=True)
class SourceImages:
    """An image per sample that an image-to-image model translates, passed as `source=`.

    Args:
        shape: shape of one image, `(height, width, channels)`.
        value_range: `(low, high)` the pixels must lie in, or None.

    Example:
    ```python
    SourceImages((8, 8, 1), (0.0, 1.0)).examples(2).shape   # (2, 8, 8, 1), uniform in [0, 1], seeded
    ```
    """

    shape: tuple
    value_range: tuple | None = None
    argument: ClassVar[str] = "source"

    def examples(self, num_samples, seed=0):
        """Uniform noise images `(num_samples, *shape)` in `value_range` (standard normal without one), fixed seed."""
        rng = np.random.default_rng(seed)
        if self.value_range is None:
            return rng.standard_normal((num_samples, *self.shape)).astype("float32")
        low, high = self.value_range
        return rng.uniform(low, high, (num_samples, *self.shape)).astype("float32")

    def check(self, owner, value, num_samples):
        """`value` as finite float32 `(num_samples, *shape)` in `value_range`."""
        array = np.asarray(value)
        validation.check_batch(owner, self.argument, array, self.shape, self.value_range)
        if len(array) != num_samples:
            raise ValueError(f"{owner}: `{self.argument}` must hold {num_samples} images, got {len(array)}")
        return array.astype("float32")


@dataclasses.dataclass(frozen=True)
class TokenIds:
    """Integer token ids in `[0, vocabulary_size)`, one sequence per sample, passed as `prompt=`.

    Example:
    ```python
    TokenIds(vocabulary_size=256).examples(2)   # [[0], [0]]: one start token each
    ```
    """

    vocabulary_size: int
    start_id: int = 0
    argument: ClassVar[str] = "prompt"

    def examples(self, num_samples):
        """One `start_id` token per sample: `(num_samples, 1)` int32."""
        return np.full((num_samples, 1), self.start_id, dtype="int32")

    def check(self, owner, value, num_samples):
        """`value` as int32 ids `(num_samples, length)`."""
        ids = np.asarray(value)
        if ids.ndim != 2 or len(ids) != num_samples or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(
                f"{owner}: `{self.argument}` must be integer token ids of shape ({num_samples}, length), "
                f"got {ids.dtype} array of shape {ids.shape}"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocabulary_size):
            raise ValueError(
                f"{owner}: `{self.argument}` ids must lie in [0, {self.vocabulary_size - 1}], "
                f"got values in [{ids.min()}, {ids.max()}]"
            )
        return ids.astype("int32")
