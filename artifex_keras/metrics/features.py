"""Features of images under a user's extractor, and their streaming mean and covariance.

Example:
```python
import keras
from artifex_keras.metrics import extract_features, extract_statistics, frechet_distance

extractor = keras.applications.InceptionV3(include_top=False, pooling="avg", input_shape=(299, 299, 3))
real = extract_features(extractor, real_images)              # (N, 2048) float64
fake = extract_statistics(extractor, generated_batches)       # streamed, only mean and covariance kept
frechet_distance(real, fake)
```
"""

import keras
import numpy as np

from artifex_keras import validation
from artifex_keras.metrics import _checks

# Rows per step when `FeatureStatistics.update` gets a large array: the centred
# copy of one chunk is all the extra memory an update needs.
UPDATE_CHUNK = 4096


class FeatureStatistics(_checks.MomentsOnly):
    """Streaming mean and unbiased covariance of feature vectors, accumulated in float64.

    Each batch's mean and scatter matrix are merged into the running ones with
    Chan et al.'s pairwise update, which stays accurate where the naive
    `sum(x x^T) - N mean mean^T` loses digits to cancellation. Memory is
    `O(D^2)` whatever the number of samples, so the statistics of 50,000
    generated images never need all their features at once.

    Example:
    ```python
    stats = FeatureStatistics()
    for batch in batches:
        stats.update(extractor.predict_on_batch(batch))
    stats.count, stats.mean.shape, stats.covariance.shape   # N, (D,), (D, D)
    ```

    Reference:
        Chan, Golub and LeVeque, "Updating formulae and a pairwise algorithm for
        computing sample variances", 1979.
    """

    def __init__(self):
        self._count = 0
        self._mean = None
        self._scatter = None  # sum over samples of (x - mean)(x - mean)^T

    @property
    def count(self):
        return self._count

    @property
    def dim(self):
        """The feature dimension `D`, or None before the first update."""
        return None if self._mean is None else self._mean.shape[0]

    @property
    def mean(self):
        if self._count == 0:
            raise ValueError("FeatureStatistics: `mean` needs at least 1 sample, got 0; call update() first")
        return self._mean.copy()

    @property
    def covariance(self):
        """Unbiased covariance, `scatter / (N - 1)`, as `numpy.cov` computes it."""
        if self._count < 2:
            raise ValueError(f"FeatureStatistics: `covariance` needs at least 2 samples, got {self._count}")
        return self._scatter / (self._count - 1)

    def update(self, features):
        """Add a batch of features `(B, D)` (or `(B, ...)`, flattened); returns `self`."""
        array = _checks.to_numpy(features)
        if array.ndim < 1 or array.shape[0] == 0:
            raise ValueError(
                "FeatureStatistics.update: `features` must be a batch of feature vectors (B, D), "
                f"got shape {array.shape}"
            )
        array = _checks.float_array("FeatureStatistics.update", "features", array.reshape(array.shape[0], -1))
        if self.dim is not None and array.shape[1] != self.dim:
            raise ValueError(
                f"FeatureStatistics.update: `features` must have {self.dim} features like the earlier batches, "
                f"got shape {array.shape}"
            )
        for start in range(0, array.shape[0], UPDATE_CHUNK):
            chunk = array[start : start + UPDATE_CHUNK]
            mean = chunk.mean(axis=0)
            centred = chunk - mean
            self._merge(chunk.shape[0], mean, centred.T @ centred)
        return self

    def merge(self, other):
        """Fold in statistics gathered elsewhere (another worker, another shard); returns `self`."""
        if not isinstance(other, FeatureStatistics):
            raise ValueError(
                f"FeatureStatistics.merge: `other` must be a FeatureStatistics, got {type(other).__name__}"
            )
        if other.count:
            if self.dim is not None and other.dim != self.dim:
                raise ValueError(
                    f"FeatureStatistics.merge: `other` must have {self.dim} features, got {other.dim}"
                )
            self._merge(other._count, other._mean, other._scatter)
        return self

    def _merge(self, count, mean, scatter):
        if self._count == 0:
            self._count, self._mean, self._scatter = count, mean.copy(), scatter.copy()
            return
        total = self._count + count
        delta = mean - self._mean
        # Chan et al.'s pairwise update: the scatter of the union adds the spread between the two means.
        self._scatter = self._scatter + scatter + np.outer(delta, delta) * (self._count * count / total)
        self._mean = self._mean + delta * (count / total)
        self._count = total

    def __repr__(self):
        return f"FeatureStatistics(count={self._count}, dim={self.dim})"


def extract_features(extractor, images, batch_size=256):
    """Run `extractor` over `images` batch by batch; returns float64 features `(N, D)`.

    Args:
        extractor: a `keras.Model` (run with `predict_on_batch`) or any callable
            mapping a batch to an array or tensor with one row per example;
            outputs are flattened to `(batch, D)`.
        images: an array or tensor `(N, ...)`, split into batches of
            `batch_size`; or a finite iterable of batches (a generator, a
            `tf.data.Dataset`, a torch `DataLoader`, a `keras.utils.PyDataset`,
            a list of arrays), used as it comes. A batch that is a tuple or
            list, such as `(x, y)`, contributes its first element.
        batch_size: examples per call when `images` is an array.

    Returns:
        float64 NumPy array `(N, D)`.

    Example:
    ```python
    extractor = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(64)])
    extract_features(extractor, x_test, batch_size=512).shape   # (10000, 64)
    ```
    """
    chunks = list(_feature_batches("extract_features", extractor, images, batch_size))
    if not chunks:
        raise ValueError("extract_features: `images` yielded no examples")
    return np.concatenate(chunks, axis=0)


def extract_statistics(extractor, images, batch_size=256):
    """Like `extract_features`, but keeps only a `FeatureStatistics` (memory `O(D^2)`, not `O(N D)`).

    Example:
    ```python
    fake = extract_statistics(extractor, (model.generate(500, seed=s) for s in range(100)))
    frechet_distance(real_statistics, fake)
    ```
    """
    statistics = FeatureStatistics()
    for features in _feature_batches("extract_statistics", extractor, images, batch_size):
        statistics.update(features)
    if statistics.count == 0:
        raise ValueError("extract_statistics: `images` yielded no examples")
    return statistics


def _feature_batches(owner, extractor, images, batch_size):
    if not callable(extractor):
        raise ValueError(f"{owner}: `extractor` must be a keras.Model or a callable, got {type(extractor).__name__}")
    batch_size = _checks.positive_int(owner, "batch_size", batch_size)
    run = extractor.predict_on_batch if isinstance(extractor, keras.Model) else extractor
    for batch, count in _image_batches(owner, images, batch_size):
        outputs = run(batch)
        if isinstance(outputs, (dict, list, tuple)):
            raise ValueError(
                f"{owner}: `extractor` must return one array per batch, got a {type(outputs).__name__}; "
                "wrap a multi-output model to pick the feature output"
            )
        outputs = _checks.to_numpy(outputs)
        if outputs.ndim < 1 or outputs.shape[0] != batch.shape[0]:
            raise ValueError(
                f"{owner}: `extractor` must return one row per example, got shape {outputs.shape} "
                f"for a batch of {batch.shape[0]}"
            )
        yield outputs[:count].reshape(count, -1).astype(np.float64)


def _image_batches(owner, images, batch_size):
    """Yield `(batch, count)`: the batch to run and how many of its rows are real examples."""
    if validation.is_array_like(images):
        total = images.shape[0] if len(images.shape) else 0
        if total == 0:
            raise ValueError(f"{owner}: `images` must be a batch of examples (N, ...), got shape {tuple(images.shape)}")
        for start in range(0, total, batch_size):
            batch = images[start : start + batch_size]
            count = batch.shape[0]
            if total > batch_size and count < batch_size:
                # Pad the last batch to the size of the others, so compiled models trace one shape only.
                batch = _checks.to_numpy(batch)
                batch = np.concatenate([batch, np.repeat(batch[-1:], batch_size - count, axis=0)])
            yield batch, count
        return
    if not hasattr(images, "__iter__"):
        raise ValueError(
            f"{owner}: `images` must be an array (N, ...) or an iterable of batches, got {type(images).__name__}"
        )
    for batch in images:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        if not validation.is_array_like(batch) or len(batch.shape) < 1:
            raise ValueError(
                f"{owner}: each batch from `images` must be an array (B, ...), got {type(batch).__name__}"
            )
        if batch.shape[0]:
            yield batch, batch.shape[0]
