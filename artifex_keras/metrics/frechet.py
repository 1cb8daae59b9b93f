"""Fréchet distance between Gaussians fitted to two feature sets (FID when the features are Inception's)."""

import warnings

import numpy as np

from artifex_keras.metrics import _checks
from artifex_keras.metrics.features import FeatureStatistics

# Added to both covariances' diagonals when their product has no usable square root.
EPS = 1e-6
# A square root `R` of `A` is accepted when `||R R - A||_F <= SQRTM_TOLERANCE * ||A||_F`.
SQRTM_TOLERANCE = 1e-5
# Largest imaginary part on the diagonal of the square root still treated as round-off
# (the value pytorch-fid and the TTUR reference code use).
IMAGINARY_TOLERANCE = 1e-3


def frechet_distance(real, fake):
    """Fréchet distance `||mu_r - mu_f||^2 + tr(S_r + S_f - 2 (S_r S_f)^(1/2))` between two feature sets.

    Args:
        real: features `(N, D)` of real data, or their `FeatureStatistics`.
        fake: features `(M, D)` of generated data, or their `FeatureStatistics`.

    Returns:
        float; 0 for identical statistics. It is biased upwards for small
        samples, so compare models at the same sample sizes (FID uses 50,000).

    Example:
    ```python
    real = extract_features(inception, x_test)
    fake = extract_features(inception, model.generate(10000, seed=0))
    frechet_distance(real, fake)
    ```

    Reference:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
        Local Nash Equilibrium", NeurIPS 2017.
    """
    mu_real, sigma_real = _moments("real", real)
    mu_fake, sigma_fake = _moments("fake", fake)
    _checks.same_dimension("frechet_distance", "real", "fake", mu_real.shape[0], mu_fake.shape[0])
    return frechet_distance_from_moments(mu_real, sigma_real, mu_fake, sigma_fake)


def frechet_distance_from_moments(mu1, sigma1, mu2, sigma2):
    """Fréchet (2-Wasserstein) distance between `N(mu1, sigma1)` and `N(mu2, sigma2)`.

    The matrix square root comes from `scipy.linalg.sqrtm`. When the product
    `sigma1 @ sigma2` is singular (fewer samples than features, constant
    features) and the root is not finite or does not square back to the
    product, `1e-6` is added to both diagonals and the root retaken. A
    negligible imaginary part (round-off) is dropped; a large one means the
    covariances are not positive semi-definite and raises a ValueError.

    Args:
        mu1, mu2: means `(D,)`.
        sigma1, sigma2: covariances `(D, D)`.

    Returns:
        float, `||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))`.

    Example:
    ```python
    frechet_distance_from_moments(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))   # 2 + 2 * (1 + 4 - 2 * 2) = 4.0
    ```

    Reference:
        Dowson and Landau, "The Fréchet distance between multivariate normal
        distributions", J. Multivariate Analysis 1982.
    """
    owner = "frechet_distance_from_moments"
    mu1, mu2 = (_mean(owner, name, mu) for name, mu in (("mu1", mu1), ("mu2", mu2)))
    _checks.same_dimension(owner, "mu1", "mu2", mu1.shape[0], mu2.shape[0])
    dim = mu1.shape[0]
    sigma1, sigma2 = (_covariance(owner, name, sigma, dim) for name, sigma in (("sigma1", sigma1), ("sigma2", sigma2)))

    root = _sqrtm(sigma1 @ sigma2)
    if root is None:
        offset = EPS * np.eye(dim)
        root = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
        if root is None:
            raise ValueError(
                f"{owner}: `sigma1 @ sigma2` has no matrix square root even with {EPS} added to the diagonals; "
                "check that both covariances are finite and positive semi-definite"
            )
    if np.iscomplexobj(root):
        imaginary = float(np.max(np.abs(np.diagonal(root).imag)))
        if imaginary > IMAGINARY_TOLERANCE:
            raise ValueError(
                f"{owner}: the square root of `sigma1 @ sigma2` has an imaginary part of {imaginary:.3g} on its "
                f"diagonal (more than round-off, {IMAGINARY_TOLERANCE}); the covariances must be positive "
                "semi-definite: estimate them from more samples than features"
            )
        root = root.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(root))


def _sqrtm(matrix):
    """`scipy.linalg.sqrtm(matrix)`, or None when it is not finite or does not square back to `matrix`."""
    from scipy import linalg

    # SciPy warns (or, before 1.16, prints) on singular input; the residual below is the test that matters.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = linalg.sqrtm(matrix)
    if not np.all(np.isfinite(root)):
        return None
    scale = max(np.linalg.norm(matrix), np.finfo(np.float64).tiny)
    if np.linalg.norm(root @ root - matrix) > SQRTM_TOLERANCE * scale:
        return None
    return root


def _moments(argument, value):
    if isinstance(value, FeatureStatistics):
        if value.count < 2:
            raise ValueError(
                f"frechet_distance: `{argument}` must hold at least 2 samples to have a covariance, got {value.count}"
            )
        return value.mean, value.covariance
    statistics = FeatureStatistics().update(_checks.features("frechet_distance", argument, value))
    return statistics.mean, statistics.covariance


def _mean(owner, argument, value):
    array = _checks.to_numpy(value)
    if array.ndim != 1 or array.shape[0] == 0:
        raise ValueError(f"{owner}: `{argument}` must be a 1-D mean vector (D,), got shape {array.shape}")
    return _checks.float_array(owner, argument, array)


def _covariance(owner, argument, value, dim):
    array = _checks.to_numpy(value)
    if array.shape != (dim, dim):
        raise ValueError(f"{owner}: `{argument}` must be a covariance matrix ({dim}, {dim}), got shape {array.shape}")
    return _checks.float_array(owner, argument, array)
