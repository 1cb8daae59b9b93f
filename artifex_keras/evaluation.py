"""Held-out metrics of a generative model, chosen by the methods the model has.

`METRICS` maps the name of a model method (a capability, such as `"elbo"` or
`"nll"`) to a function `fn(model, x, labels, settings) -> dict` that returns
metric values; `evaluate_model` runs every entry whose method the model has.
A family adds its metrics by adding an entry, for example
`METRICS["log_prob"] = exact_nll` for flows. `settings` holds `batch_size` and
`num_samples`; `labels` is None unless the model is conditional.

Example:
```python
import artifex_keras as ak
from artifex_keras.evaluation import evaluate_model

model = ak.from_preset("vae_fashion_mnist")
evaluate_model(model, data="fashion_mnist", split="test", num_samples=100)
# {'data': 'fashion_mnist', 'split': 'test', 'num_examples': 10000, 'neg_elbo_nats': ...,
#  'neg_elbo_bits_per_dim': ..., 'iwae_nll_nats': ..., 'iwae_nll_bits_per_dim': ...,
#  'iwae_num_samples': 100, 'seconds': ...}
```
"""

import math
import time

import keras
import numpy as np

from artifex_keras import data as datasets
from artifex_keras import validation

# k of the importance-weighted bound: 1000 is the paper's choice, 100 keeps a
# 10000-image test split within minutes on a CPU.
DEFAULT_NUM_SAMPLES = 100
DEFAULT_BATCH_SIZE = 256


def _negative_elbo(model, x, labels, settings):
    """Mean negative ELBO, an upper bound on `-log p(x)`."""
    nats = _per_example(lambda xb, kwargs: -_numpy(model.elbo(xb, **kwargs)), x, labels, settings["batch_size"])
    return _nats_and_bits("neg_elbo", nats, model)


def _iwae_nll(model, x, labels, settings):
    """Mean importance-weighted bound on `-log p(x)` with `num_samples` samples (Burda et al., 2016)."""
    k = settings["num_samples"]
    nats = _per_example(
        lambda xb, kwargs: _numpy(model.nll(xb, num_samples=k, **kwargs)), x, labels, settings["batch_size"]
    )
    return {**_nats_and_bits("iwae_nll", nats, model), "iwae_num_samples": k}


METRICS = {"elbo": _negative_elbo, "nll": _iwae_nll}


def available_metrics(model):
    """Capabilities in `METRICS` that `model` has, in `METRICS` order.

    Example:
    ```python
    available_metrics(ak.models.VAE(input_shape=(8, 8, 1)))   # ['elbo', 'nll']
    ```
    """
    return [capability for capability in METRICS if callable(getattr(model, capability, None))]


def data_scale(model):
    """The `scale` of `artifex_keras.data.load` that matches `model.data_range`.

    Example:
    ```python
    x = ak.data.load("digits", scale=data_scale(model), with_labels=False)
    ```
    """
    data_range = getattr(model, "data_range", None)
    return "symmetric" if data_range is not None and tuple(data_range) == (-1.0, 1.0) else "unit"


def evaluate_model(
    model, data="fashion_mnist", split="test", limit=None, num_samples=None, batch_size=DEFAULT_BATCH_SIZE
):
    """Held-out metrics of `model` on a dataset split, as a JSON-ready dict.

    Runs every metric in `METRICS` the model supports: `neg_elbo_nats` for
    models with `elbo`, `iwae_nll_nats` (with `iwae_num_samples`) for models
    with `nll`, each also in bits per dimension (`nats / (D * ln 2)`, `D` the
    number of values in one example). Images are scaled to the model's
    `data_range` ([-1, 1] or [0, 1]); conditional models get the labels.

    Args:
        model: a trained `GenerativeModel`.
        data: dataset name for `artifex_keras.data.load`.
        split: `"train"`, `"test"` or `"all"`.
        limit: evaluate on the first `limit` examples only.
        num_samples: importance samples `k` of the IWAE bound (default 100).
        batch_size: examples per call to the model.

    Returns:
        dict with `data`, `split`, `num_examples`, the metrics, and `seconds`.

    Example:
    ```python
    metrics = evaluate_model(model, data="digits", num_samples=50)
    metrics["neg_elbo_bits_per_dim"]
    ```
    """
    capabilities = available_metrics(model)
    if not capabilities:
        raise ValueError(
            f"evaluate_model: no held-out metric fits {type(model).__name__}; "
            f"it needs one of the methods {', '.join(METRICS)}"
        )
    num_samples = DEFAULT_NUM_SAMPLES if num_samples is None else num_samples
    settings = {
        "num_samples": validation.check_positive_int("evaluate_model", "num_samples", num_samples),
        "batch_size": validation.check_positive_int("evaluate_model", "batch_size", batch_size),
    }
    start = time.perf_counter()
    x, y = datasets.load(data, split=split, scale=data_scale(model), with_labels=True, limit=limit)
    if tuple(x.shape[1:]) != tuple(model.data_shape):
        raise ValueError(
            f"evaluate_model: {type(model).__name__} takes examples of shape {tuple(model.data_shape)}, "
            f"got {tuple(x.shape[1:])} from dataset {data!r}"
        )
    labels = y if getattr(model, "is_conditional", False) else None
    result = {"data": data, "split": split, "num_examples": int(len(x))}
    for capability in capabilities:
        result.update(METRICS[capability](model, x, labels, settings))
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def _per_example(fn, x, labels, batch_size):
    """Concatenate `fn(x_batch, {"labels": ...})` over batches into one value per example.

    The last batch is padded (by repeating its last example) to the size of
    the others, so every call sees one shape and compiled backends trace once.
    """
    batch_size = min(batch_size, len(x))
    values = []
    for start in range(0, len(x), batch_size):
        count = min(batch_size, len(x) - start)
        kwargs = {} if labels is None else {"labels": _pad(labels[start : start + count], batch_size)}
        batch_values = np.reshape(fn(_pad(x[start : start + count], batch_size), kwargs), (-1,))
        if len(batch_values) != batch_size:
            raise ValueError(f"evaluate_model: expected one value per example ({batch_size}), got {len(batch_values)}")
        values.append(batch_values[:count])
    return np.concatenate(values)


def _pad(array, size):
    return np.concatenate([array, np.repeat(array[-1:], size - len(array), axis=0)]) if len(array) < size else array


def _nats_and_bits(name, nats, model):
    mean = float(np.mean(nats))
    dims = math.prod(model.data_shape)
    return {f"{name}_nats": mean, f"{name}_bits_per_dim": mean / (dims * math.log(2.0))}


def _numpy(values):
    return np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float64)
