import math

import numpy as np
import pytest
from scipy.special import logsumexp

from artifex_keras import data
from artifex_keras.data import toy


def eight_gaussians_log_density(points):
    """Log density of `toy.eight_gaussians`, written independently from its parameters."""
    std = 0.5 / math.sqrt(2.0)
    angles = np.arange(8) * math.pi / 4.0
    centers = (4.0 / math.sqrt(2.0)) * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    squared = ((points[:, None, :] - centers[None]) ** 2).sum(-1)
    return logsumexp(-squared / (2 * std**2), axis=1) - math.log(8) - math.log(2 * math.pi * std**2)


@pytest.mark.parametrize("name", toy.TOY_DATASETS)
def test_toy_densities_are_seeded_float32_points(name):
    x = getattr(toy, name)(1000, seed=3)
    assert x.shape == (1000, 2) and x.dtype == np.float32 and np.all(np.isfinite(x))
    np.testing.assert_array_equal(x, getattr(toy, name)(1000, seed=3))
    assert not np.array_equal(x, getattr(toy, name)(1000, seed=4))
    points, labels = toy.sample(name, 1000, seed=3, with_labels=True)
    np.testing.assert_array_equal(points, x)
    assert labels.dtype == np.int32
    assert set(np.unique(labels)) == set(range(toy.num_components(name)))


def test_eight_gaussians_entropy_by_grid_integration():
    grid = np.linspace(-6.0, 6.0, 601)
    step = grid[1] - grid[0]
    xx, yy = np.meshgrid(grid, grid)
    log_p = eight_gaussians_log_density(np.stack([xx.ravel(), yy.ravel()], axis=1))
    p = np.exp(log_p)
    assert abs(p.sum() * step**2 - 1.0) < 1e-6
    entropy = -(p * log_p).sum() * step**2
    assert abs(entropy - toy.entropy("eight_gaussians")) < 1e-5
    assert round(entropy, 3) == 2.832


def test_eight_gaussians_samples_follow_the_stated_density():
    # The Monte Carlo NLL of samples under the density is the entropy (std error ~ 0.003 at 100k samples).
    x = toy.eight_gaussians(100_000, seed=0).astype(np.float64)
    nll = -eight_gaussians_log_density(x)
    assert abs(nll.mean() - toy.entropy("eight_gaussians")) < 4 * nll.std() / math.sqrt(len(x))


def test_checkerboard_is_uniform_on_32_square_units():
    x, labels = toy.sample("checkerboard", 80_000, seed=0, with_labels=True)
    assert np.all(np.abs(x) <= 4.0)
    cells = np.floor(x / 2.0).astype(int) + 2  # 4 x 4 cells of side 2
    # Dark cells: column + row odd parity pattern, 8 of 16 cells, each with 1/8 of the points.
    occupied = np.zeros((4, 4))
    np.add.at(occupied, (cells[:, 0], cells[:, 1]), 1)
    dark = (np.add.outer(np.arange(4), np.arange(4)) % 2) == 0
    assert np.all(occupied[~dark] == 0)
    np.testing.assert_allclose(occupied[dark] / len(x), 1 / 8, atol=0.005)
    # Uniform within a cell: each quarter of a cell holds a quarter of its points.
    inside = (x / 2.0 - np.floor(x / 2.0)) < 0.5
    assert abs(inside[:, 0].mean() - 0.5) < 0.01 and abs(inside[:, 1].mean() - 0.5) < 0.01
    assert toy.entropy("checkerboard") == pytest.approx(math.log(32.0), abs=1e-12)
    assert abs(toy.entropy("checkerboard") - 3.466) < 1e-3


def test_conditional_entropies_match_each_component_of_the_samples():
    # Given its id, a component is one Gaussian (eight Gaussians) or one square of side 2 (checkerboard):
    # the sample covariance of each component gives the Gaussian's entropy, its bounding box the square's.
    x, labels = toy.sample("eight_gaussians", 80_000, seed=0, with_labels=True)
    for component in range(8):
        covariance = np.cov(x[labels == component].astype(np.float64), rowvar=False)
        entropy = 0.5 * math.log(np.linalg.det(2 * math.pi * math.e * covariance))
        assert abs(entropy - toy.conditional_entropy("eight_gaussians")) < 0.03
    x, labels = toy.sample("checkerboard", 80_000, seed=0, with_labels=True)
    for component in range(8):
        square = x[labels == component]
        area = np.prod(square.max(axis=0) - square.min(axis=0))
        assert abs(math.log(area) - toy.conditional_entropy("checkerboard")) < 1e-2
    assert toy.conditional_entropy("two_moons") is None
    with pytest.raises(ValueError, match="conditional_entropy: unknown toy density 'checkerbord'"):
        toy.conditional_entropy("checkerbord")


def test_entropy_unknown_for_curves():
    for name in ("two_moons", "circles", "spirals", "pinwheel"):
        assert toy.entropy(name) is None
    assert data.entropy("eight_gaussians") == toy.EIGHT_GAUSSIANS_ENTROPY


def test_load_gives_fixed_splits_with_component_labels():
    x, y = data.load("eight_gaussians", split="test")
    assert x.shape == (10000, 2) and x.dtype == np.float32 and y.shape == (10000,) and y.dtype == np.int32
    np.testing.assert_array_equal(x, toy.eight_gaussians(10000, seed=1))
    train = data.load("eight_gaussians", split="train", with_labels=False, limit=100)
    np.testing.assert_array_equal(train, toy.eight_gaussians(51200, seed=0)[:100])
    everything = data.load("checkerboard", split="all", with_labels=False)
    assert everything.shape == (61200, 2)
    assert data.class_names("pinwheel") == ["0", "1", "2", "3", "4"]


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="eight_gaussians: `num_samples` must be a positive int, got 0"):
        toy.eight_gaussians(0)
    with pytest.raises(ValueError, match="spirals: `seed` must be a non-negative int, got -1"):
        toy.spirals(10, seed=-1)
    with pytest.raises(ValueError, match="unknown toy density 'eight_gausians'. Did you mean 'eight_gaussians'"):
        toy.entropy("eight_gausians")
    with pytest.raises(ValueError, match="load: unknown dataset 'checkerbord'. Did you mean 'checkerboard'"):
        data.load("checkerbord")
