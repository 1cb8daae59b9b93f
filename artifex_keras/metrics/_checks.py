"""Input checks shared by the metrics: convert to float64 NumPy, fail early naming the argument."""

import numbers

import keras
import numpy as np

from artifex_keras import validation

# The library-wide check, so integer arguments fail with the same message everywhere.
positive_int = validation.check_positive_int


def to_numpy(value):
    """A NumPy array from a NumPy array, a nested list, or a tensor of the active backend."""
    if isinstance(value, np.ndarray):
        return value
    # `np.asarray` fails on torch tensors that need grad or live on a GPU; Keras knows how to move them.
    if keras.ops.is_tensor(value):
        return keras.ops.convert_to_numpy(value)
    return np.asarray(value)


def float_array(owner, argument, value):
    """`value` as a finite float64 array, or a ValueError naming `argument`."""
    array = to_numpy(value)
    if not (np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)):
        raise ValueError(f"{owner}: `{argument}` must be a numeric array, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise ValueError(f"{owner}: `{argument}` must be finite, got {bad} NaN or infinite value(s)")
    return array


class MomentsOnly:
    """Base of objects that keep only the mean and covariance of features (`FeatureStatistics`)."""


def features(owner, argument, value, min_samples=2):
    """A finite float64 `(N, D)` feature array with at least `min_samples` rows."""
    if isinstance(value, MomentsOnly):
        raise ValueError(
            f"{owner}: `{argument}` must be a 2-D array of features (N, D), got {type(value).__name__}; "
            f"{owner} needs the samples themselves, not only their mean and covariance"
        )
    array = to_numpy(value)
    if array.ndim != 2:
        raise ValueError(f"{owner}: `{argument}` must be a 2-D array of features (N, D), got shape {array.shape}")
    if array.shape[0] < min_samples or array.shape[1] < 1:
        raise ValueError(
            f"{owner}: `{argument}` must hold at least {min_samples} samples of at least 1 feature, "
            f"got shape {array.shape}"
        )
    return float_array(owner, argument, array)


def same_dimension(owner, first, second, dim_first, dim_second):
    if dim_first != dim_second:
        raise ValueError(
            f"{owner}: `{first}` and `{second}` must have the same feature dimension, got {dim_first} and {dim_second}"
        )


def positive_number(owner, argument, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: `{argument}` must be a positive number, got {value!r}")
    return float(value)


def real_number(owner, argument, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{owner}: `{argument}` must be a finite number, got {value!r}")
    return float(value)
