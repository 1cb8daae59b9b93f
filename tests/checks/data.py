"""Small real data for fast tests."""

from artifex_keras import data


def digits(limit=256, with_labels=False):
    """The first `limit` 8x8 digits in [0, 1] (scikit-learn's bundled set), with labels if asked."""
    x, y = data.load("digits", split="train", limit=limit)
    return (x, y) if with_labels else x


def fit_arguments(train_data):
    """`(x, y)` for `fit` from `x` or an `(x, y)` pair."""
    return (train_data, None) if not isinstance(train_data, tuple) else train_data
