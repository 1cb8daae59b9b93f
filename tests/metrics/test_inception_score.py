"""Inception Score bounds: 1 for uninformative predictions, C for confident balanced ones."""

import numpy as np
import pytest

from artifex_keras.metrics import inception_score


def test_uniform_predictions_score_one():
    mean, std = inception_score(np.full((100, 10), 0.1))
    assert mean == pytest.approx(1.0) and std == pytest.approx(0.0, abs=1e-12)


def test_confident_balanced_predictions_score_num_classes():
    one_hot = np.eye(10)[np.arange(1000) % 10]
    mean, std = inception_score(one_hot, num_splits=10)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-9)


def test_logits_match_probabilities():
    logits = np.random.default_rng(0).normal(size=(50, 4))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert inception_score(logits, num_splits=5, from_logits=True) == pytest.approx(
        inception_score(probabilities, num_splits=5)
    )


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="inception_score: `probabilities` must be non-negative .* from_logits=True"):
        inception_score(np.random.default_rng(0).normal(size=(20, 3)), num_splits=2)
    with pytest.raises(ValueError, match=r"inception_score: `probabilities` must be a 2-D array .* got shape \(5,\)"):
        inception_score(np.full(5, 0.2))
    with pytest.raises(ValueError, match="inception_score: `num_splits` must be at most the number of samples"):
        inception_score(np.full((5, 2), 0.5), num_splits=10)
