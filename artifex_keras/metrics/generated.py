"""Generated images as a stream of fixed-size blocks in [0, 1], the same whatever batch size measures them."""

import numbers

import numpy as np

from artifex_keras.metrics import _checks

# Samples per `model.generate` call. Fixed, so the samples (and every metric on
# them) depend on `seed` and `num_samples` only, never on a batch size.
GENERATION_BLOCK = 500


def generated_batches(
    model, num_samples, seed=0, conditions=None, sampler=None, block_size=GENERATION_BLOCK, images=True
):
    """Yield `model.generate` samples in blocks of `block_size`, as float32 images in [0, 1] (or points as drawn).

    Block `i` is drawn with its own seed derived from `(seed, i)`, so the
    stream is reproducible and memory holds one block at a time. Samples of a
    model trained on [-1, 1] data are mapped to [0, 1]; every sample is then
    clipped to [0, 1], as saving it as an image would (a Gaussian decoder's
    means can leave the range).

    Args:
        model: a generative model with `generate(n, seed=..., sampler=..., **conditions)` and `data_range`.
        num_samples: total number of samples.
        seed: int seed of the whole stream.
        conditions: keyword arguments of `generate` with one entry per
            sample (e.g. `{"labels": labels}` for class-conditional models), or None.
        sampler: the sampler `generate` draws with (None: the model's default).
        block_size: samples per `generate` call.
        images: map to [0, 1] and clip (images); False yields the samples as drawn (points).

    Example:
    ```python
    statistics = extract_statistics(extractor, generated_batches(model, 50000, seed=0))
    ```
    """
    owner = "generated_batches"
    num_samples = _checks.positive_int(owner, "num_samples", num_samples)
    block_size = _checks.positive_int(owner, "block_size", block_size)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{owner}: `seed` must be a non-negative int, got {seed!r}")
    conditions = {name: np.asarray(value) for name, value in (conditions or {}).items()}
    for name, value in conditions.items():
        if value.ndim == 0 or len(value) != num_samples:
            raise ValueError(
                f"{owner}: `conditions[{name!r}]` must hold one entry per sample ({num_samples}), "
                f"got shape {value.shape}"
            )
    if not callable(getattr(model, "generate", None)):
        raise ValueError(f"{owner}: `model` must have a `generate` method, got {type(model).__name__}")
    for index, start in enumerate(range(0, num_samples, block_size)):
        count = min(block_size, num_samples - start)
        kwargs = {name: value[start : start + count] for name, value in conditions.items()}
        if sampler is not None:
            kwargs["sampler"] = sampler
        samples = model.generate(count, seed=block_seed(seed, index), **kwargs)
        yield to_unit_range(samples, getattr(model, "data_range", None)) if images else np.float32(samples)


def block_seed(seed, index):
    """A 31-bit seed for block `index` of the stream seeded by `seed` (NumPy's SeedSequence mixing).

    Example:
    ```python
    block_seed(0, 1) != block_seed(1, 0)   # True: streams with nearby seeds share no block
    ```
    """
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0] >> 1)


def to_unit_range(images, data_range):
    """Float32 images in [0, 1] from samples in `data_range` ((-1, 1), (0, 1) or None: taken as [0, 1]), clipped.

    Example:
    ```python
    to_unit_range(np.array([-1.0, 0.0, 1.5]), (-1.0, 1.0))   # array([0. , 0.5, 1. ])
    ```
    """
    array = np.asarray(_checks.to_numpy(images), dtype="float32")
    if data_range is not None and tuple(data_range) == (-1.0, 1.0):
        array = (array + np.float32(1.0)) * np.float32(0.5)
    return np.clip(array, 0.0, 1.0)
