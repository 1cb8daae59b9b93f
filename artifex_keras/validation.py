"""Checks on user data that fail early with a message naming the argument."""

import keras
import numpy as np


def is_array_like(value):
    """True for NumPy arrays and eager backend tensors (not tf.data, not generators)."""
    return hasattr(value, "shape") and hasattr(value, "dtype") and not hasattr(value, "element_spec")


def check_batch(owner, argument, value, example_shape, value_range=None):
    """Validate a batch of examples: float dtype, shape `(batch, *example_shape)`, finite.

    Example:
    ```python
    check_batch("VAE.fit", "x", x, (28, 28, 1), value_range=(0.0, 1.0))
    ```
    """
    if not is_array_like(value):
        return
    array = np.asarray(value) if isinstance(value, np.ndarray) else None
    dtype = np.dtype(getattr(value.dtype, "as_numpy_dtype", value.dtype)) if _has_numpy_dtype(value) else None
    expected = f"(batch, {', '.join(str(d) for d in example_shape)})"
    shape = tuple(value.shape)
    if len(shape) != len(example_shape) + 1 or tuple(shape[1:]) != tuple(example_shape):
        raise ValueError(f"{owner}: `{argument}` must have shape {expected}, got shape {shape}")
    if dtype is not None and not np.issubdtype(dtype, np.floating):
        hint = ""
        if np.issubdtype(dtype, np.integer):
            hint = " (scale images first, e.g. with artifex_keras.data.scale_images)"
        raise ValueError(f"{owner}: `{argument}` must be a floating-point array{hint}, got dtype {dtype}")
    if array is not None:
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise ValueError(f"{owner}: `{argument}` must be finite, got {bad} NaN or infinite value(s)")
        if value_range is not None and array.size:
            low, high = float(array.min()), float(array.max())
            if low < value_range[0] - 1e-6 or high > value_range[1] + 1e-6:
                raise ValueError(
                    f"{owner}: `{argument}` must lie in [{value_range[0]}, {value_range[1]}], "
                    f"got values in [{low:.4g}, {high:.4g}]"
                )


def check_data_loader(owner, argument, value):
    """A torch `DataLoader` must yield tuples (`(x,)`, `(x, y)`): Keras splits a bare batch tensor into examples.

    Checked on every backend (it fails on JAX and TensorFlow otherwise) from
    the dataset's first example, without starting the loader's workers;
    loaders with their own `collate_fn` or an iterable dataset are trusted.
    """
    if type(value).__name__ != "DataLoader" or not type(value).__module__.startswith("torch.utils.data"):
        return
    dataset = value.dataset
    if getattr(value.collate_fn, "__name__", None) != "default_collate" or not hasattr(dataset, "__getitem__"):
        return
    if len(dataset) and is_array_like(first := dataset[0]):
        raise ValueError(
            f"{owner}: a torch DataLoader as `{argument}` must yield tuples such as (x,) or (x, y), "
            f"got bare tensors (examples of shape {tuple(first.shape)}); "
            "wrap the tensors in torch.utils.data.TensorDataset"
        )


def check_batch_spec(owner, argument, value, example_shape):
    """Validate the static shape and dtype of a batch inside a training step (any backend tensor).

    Batches from `tf.data`, `keras.utils.PyDataset`, a torch `DataLoader` or a
    generator reach the model only inside `fit`'s step, traced on JAX and
    TensorFlow; this check reads only the static shape (unknown dimensions
    pass) and the dtype: once per trace on JAX and TensorFlow, a few Python
    comparisons per step on PyTorch.

    Example:
    ```python
    check_batch_spec("VAE.fit", "x", batch, (28, 28, 1))
    ```
    """
    if not is_array_like(value):
        return
    _check_floating_spec(owner, argument, value)
    shape = _static_shape(value)
    if shape is None:
        return
    expected = f"(batch, {', '.join(str(d) for d in example_shape)})"
    compatible = len(shape) == len(example_shape) + 1 and all(
        got is None or got == want for got, want in zip(shape[1:], example_shape)
    )
    if not compatible:
        raise ValueError(f"{owner}: batches of `{argument}` must have shape {expected}, got shape {shape}")


def _check_floating_spec(owner, argument, value):
    dtype = keras.backend.standardize_dtype(value.dtype)
    if not dtype.startswith(("float", "bfloat")):
        hint = " (scale images first, e.g. with artifex_keras.data.scale_images)" if "int" in dtype else ""
        raise ValueError(f"{owner}: batches of `{argument}` must be floating point{hint}, got dtype {dtype}")


def _static_shape(value):
    """The static shape with None for unknown sizes, or None when even the rank is unknown (TensorFlow retraces)."""
    if getattr(value.shape, "rank", 0) is None:
        return None
    return tuple(None if d is None else int(d) for d in value.shape)


def check_label_spec(owner, argument, value):
    """Validate the static shape and dtype of a batch of class ids inside a training step."""
    if value is None:
        raise ValueError(f"{owner}: batches must be (x, labels) pairs for a conditional model, got x alone")
    if not is_array_like(value):
        return
    dtype = keras.backend.standardize_dtype(value.dtype)
    if "int" not in dtype:
        raise ValueError(f"{owner}: batches of `{argument}` must hold integer class ids, got dtype {dtype}")
    shape = _static_shape(value)
    if shape is None:
        return
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise ValueError(
            f"{owner}: batches of `{argument}` must be class ids of shape (batch,) (not one-hot), got shape {shape}"
        )


def check_labels(owner, argument, value, num_classes, batch_size=None):
    """Validate integer class labels in `[0, num_classes)`."""
    if not is_array_like(value):
        return
    array = np.asarray(value) if isinstance(value, np.ndarray) else None
    if len(value.shape) != 1:
        raise ValueError(f"{owner}: `{argument}` must be a 1-D array of class ids, got shape {tuple(value.shape)}")
    if batch_size is not None and value.shape[0] != batch_size:
        raise ValueError(f"{owner}: `{argument}` must hold {batch_size} labels, got {value.shape[0]}")
    if array is not None:
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"{owner}: `{argument}` must hold integer class ids, got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= num_classes):
            raise ValueError(
                f"{owner}: `{argument}` must lie in [0, {num_classes - 1}], "
                f"got values in [{array.min()}, {array.max()}]"
            )


def check_positive_int(owner, argument, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: `{argument}` must be a positive int, got {value!r}")
    return int(value)


def check_positive_number(owner, argument, value):
    """A finite number above zero, as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}: `{argument}` must be a positive number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: `{argument}` must be a positive number, got {value!r}")
    return float(value)


def check_non_negative_number(owner, argument, value):
    """A finite number at or above zero, as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}: `{argument}` must be a non-negative number, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: `{argument}` must be a non-negative number, got {value!r}")
    return float(value)


def check_non_negative_int(owner, argument, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{owner}: `{argument}` must be a non-negative int, got {value!r}")
    return int(value)


def _has_numpy_dtype(value):
    try:
        np.dtype(getattr(value.dtype, "as_numpy_dtype", value.dtype))
        return True
    except TypeError:
        return False


def check_seed(owner, seed):
    """`seed` as an int, or None: the seed of a reproducible draw."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{owner}: `seed` must be a non-negative int or None, got {seed!r}")
    return int(seed)
