"""Checks on user data that fail early with a message naming the argument."""

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


def _has_numpy_dtype(value):
    try:
        np.dtype(getattr(value.dtype, "as_numpy_dtype", value.dtype))
        return True
    except TypeError:
        return False
