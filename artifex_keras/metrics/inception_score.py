"""Inception Score from a classifier's class probabilities on generated samples."""

import numpy as np

from artifex_keras.metrics import _checks

# How far a row of `probabilities` may sum from 1 before we suspect logits.
SUM_TOLERANCE = 1e-3


def inception_score(probabilities, num_splits=10, from_logits=False):
    """`exp(E_x KL(p(y|x) || p(y)))`, mean and standard deviation over `num_splits` splits.

    High when each sample is classified confidently (low entropy of
    `p(y|x)`) and the classes are used evenly (high entropy of `p(y)`): it
    ranges from 1 to the number of classes `C`. Computed in float64 with
    `0 log 0 = 0`; `p(y)` is the mean prediction within each split.

    Args:
        probabilities: class probabilities `(N, C)` from a classifier run on
            generated samples (for example with `extract_features`), or its
            logits with `from_logits=True`.
        num_splits: number of consecutive, near-equal splits (the paper uses
            10 splits of 5,000).
        from_logits: apply a softmax to each row first.

    Returns:
        `(mean, std)` over splits (population standard deviation, as in the
        paper's code).

    Example:
    ```python
    probabilities = extract_features(classifier, model.generate(10000, seed=0))
    score, spread = inception_score(probabilities)
    ```

    Reference:
        Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016.
    """
    owner = "inception_score"
    array = _checks.to_numpy(probabilities)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] < 2:
        raise ValueError(
            f"{owner}: `probabilities` must be a 2-D array of class probabilities (N, C) with C >= 2, "
            f"got shape {array.shape}"
        )
    array = _checks.float_array(owner, "probabilities", array)
    num_splits = _checks.positive_int(owner, "num_splits", num_splits)
    if num_splits > array.shape[0]:
        raise ValueError(
            f"{owner}: `num_splits` must be at most the number of samples ({array.shape[0]}), got {num_splits}"
        )
    if from_logits:
        shifted = array - array.max(axis=1, keepdims=True)
        array = np.exp(shifted)
        array /= array.sum(axis=1, keepdims=True)
    else:
        _check_probabilities(owner, array)

    from scipy import special

    total = array.shape[0]
    scores = []
    for split in range(num_splits):
        part = array[split * total // num_splits : (split + 1) * total // num_splits]
        marginal = part.mean(axis=0)
        # xlogy(0, .) = 0, so classes a sample never predicts add nothing, even where p(y) = 0.
        kl = special.xlogy(part, part).sum(axis=1) - special.xlogy(part, marginal).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _check_probabilities(owner, array):
    low = float(array.min())
    worst = float(np.max(np.abs(array.sum(axis=1) - 1.0)))
    if low < 0 or worst > SUM_TOLERANCE:
        raise ValueError(
            f"{owner}: `probabilities` must be non-negative with rows summing to 1, got a minimum of {low:.4g} "
            f"and a row sum off by {worst:.3g}; pass from_logits=True for logits"
        )
