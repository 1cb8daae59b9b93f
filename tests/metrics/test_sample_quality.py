"""sample_quality: every feature metric in one dict, with closed-form values for identical sets."""

import math

import numpy as np
import pytest

from artifex_keras.metrics import density_coverage
from artifex_keras.metrics import frechet_distance
from artifex_keras.metrics import kernel_inception_distance
from artifex_keras.metrics import precision_recall
from artifex_keras.metrics import sample_quality


def test_a_set_against_itself_scores_perfectly():
    real = np.random.default_rng(0).normal(size=(200, 5))
    one_hot = np.eye(4)[np.arange(200) % 4]  # confident and balanced: IS = number of classes
    result = sample_quality(real, real.copy(), one_hot)
    assert abs(result["fd"]) < 1e-8
    assert (result["precision"], result["recall"], result["density"], result["coverage"]) == (1.0, 1.0, 1.0, 1.0)
    assert math.isclose(result["inception_score"], 4.0, rel_tol=1e-12) and result["inception_score_std"] < 1e-12
    # Unbiased MMD² of a set against itself is 2/m (mean off-diagonal kernel - mean diagonal kernel) <= 0.
    assert result["kid"] <= 0.0


def test_values_are_those_of_the_individual_metrics():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(300, 6)), rng.normal(0.5, 1.2, size=(250, 6))
    result = sample_quality(real, fake, seed=3)
    assert list(result) == ["fd", "kid", "kid_std_error", "precision", "recall", "density", "coverage"]
    assert result["fd"] == frechet_distance(real, fake)
    assert (result["kid"], result["kid_std_error"]) == kernel_inception_distance(real, fake, seed=3)
    assert (result["precision"], result["recall"]) == precision_recall(real, fake, k=3)
    assert (result["density"], result["coverage"]) == density_coverage(real, fake, k=5)


def test_errors_name_the_argument():
    real = np.zeros((20, 3))
    with pytest.raises(ValueError, match=r"sample_quality: `fake` must hold at least 10 samples .* got shape \(9, 3\)"):
        sample_quality(real, np.zeros((9, 3)))
    with pytest.raises(ValueError, match="sample_quality: `real` and `fake` must have the same feature dimension"):
        sample_quality(real, np.zeros((20, 4)))
    with pytest.raises(ValueError, match=r"`fake_probabilities` must hold one row of class probabilities per sample"):
        sample_quality(real, real + 1.0, np.full((5, 2), 0.5))
