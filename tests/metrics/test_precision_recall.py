"""k-NN precision/recall and density/coverage, in blocks."""

import numpy as np
import pytest

from artifex_keras.metrics import _pairwise
from artifex_keras.metrics import density_coverage
from artifex_keras.metrics import precision_recall


@pytest.fixture(scope="module")
def points():
    return np.random.default_rng(0).normal(size=(300, 5))


def test_identical_sets(points):
    assert precision_recall(points, points) == (1.0, 1.0)
    density, coverage = density_coverage(points, points)
    assert density == pytest.approx(1.0, abs=1e-2) and coverage == 1.0


def test_disjoint_far_apart_sets(points):
    assert precision_recall(points, points + 100.0) == (0.0, 0.0)
    assert density_coverage(points, points + 100.0) == (0.0, 0.0)


def test_subset_of_modes_has_precision_but_not_recall(points):
    fake = points[points[:, 0] > 0.5]
    precision, recall = precision_recall(points, fake)
    assert precision == 1.0 and recall < 0.6
    assert density_coverage(points, fake)[1] < 0.6


def test_blocks_give_the_same_answer(points, monkeypatch):
    fake = np.random.default_rng(1).normal(0.5, 1.0, size=(200, 5))
    whole = precision_recall(points, fake), density_coverage(points, fake)
    monkeypatch.setattr(_pairwise, "ROW_BLOCK", 32)
    monkeypatch.setattr(_pairwise, "COLUMN_BLOCK", 45)
    assert (precision_recall(points, fake), density_coverage(points, fake)) == whole


def test_kth_neighbour_matches_brute_force(points, monkeypatch):
    monkeypatch.setattr(_pairwise, "ROW_BLOCK", 64)
    monkeypatch.setattr(_pairwise, "COLUMN_BLOCK", 70)
    brute = np.sort(((points[:, None] - points[None]) ** 2).sum(-1), axis=1)[:, 3]
    np.testing.assert_allclose(_pairwise.kth_neighbour_squared_distances(points, 3), brute, atol=1e-12)


def test_bad_inputs_name_the_argument(points):
    with pytest.raises(ValueError, match="precision_recall: `fake` must hold more than k=3 samples .* got 3"):
        precision_recall(points, points[:3])
    with pytest.raises(ValueError, match="density_coverage: `k` must be a positive int, got 0"):
        density_coverage(points, points, k=0)
    with pytest.raises(ValueError, match="precision_recall: `real` and `fake` must have the same feature dimension"):
        precision_recall(points, points[:, :2])
