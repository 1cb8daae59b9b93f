"""Every feature-space sample-quality metric of one sample set against a reference, in one JSON-ready dict."""

from artifex_keras.metrics import _checks
from artifex_keras.metrics.frechet import frechet_distance
from artifex_keras.metrics.inception_score import inception_score
from artifex_keras.metrics.kid import kernel_inception_distance
from artifex_keras.metrics.precision_recall import density_coverage
from artifex_keras.metrics.precision_recall import precision_recall

# Neighbourhood sizes of the papers: 3 for precision/recall, 5 for density/coverage.
PRECISION_RECALL_K = 3
DENSITY_COVERAGE_K = 5
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
INCEPTION_SCORE_SPLITS = 10
# The fewest samples every metric above accepts (IS needs one per split, D/C more than k).
MIN_SAMPLES = max(INCEPTION_SCORE_SPLITS, DENSITY_COVERAGE_K + 1)


def sample_quality(real, fake, fake_probabilities=None, seed=0):
    """FD, KID (mean and standard error), precision/recall, density/coverage and optionally IS.

    Args:
        real: reference features `(N, D)` (e.g. the test split), `N >= 10`.
        fake: features `(M, D)` of the samples measured, `M >= 10`.
        fake_probabilities: class probabilities `(M, C)` of the same samples
            from a classifier, for the Inception-Score-style `inception_score`;
            None leaves it out.
        seed: seed of KID's random subsets.

    Returns:
        dict with `fd`, `kid`, `kid_std_error`, `precision`, `recall`
        (k=3), `density`, `coverage` (k=5) and, with probabilities,
        `inception_score` and `inception_score_std` (10 splits). KID uses 100
        subsets of `min(1000, N, M)` rows.

    Example:
    ```python
    real, _ = extractor.extract(x_test)
    fake, probabilities = extractor.extract(samples)
    sample_quality(real, fake, probabilities)["fd"]
    sample_quality(real, extractor.extract(x_train[:10000])[0])   # the real-vs-real floor
    ```

    Reference:
        Heusel et al. 2017 (FD); Bińkowski et al. 2018 (KID); Kynkäänniemi et
        al. 2019 (precision/recall); Naeem et al. 2020 (density/coverage);
        Salimans et al. 2016 (IS).
    """
    owner = "sample_quality"
    real = _checks.features(owner, "real", real, min_samples=MIN_SAMPLES)
    fake = _checks.features(owner, "fake", fake, min_samples=MIN_SAMPLES)
    _checks.same_dimension(owner, "real", "fake", real.shape[1], fake.shape[1])
    kid, kid_error = kernel_inception_distance(
        real, fake, num_subsets=KID_SUBSETS, subset_size=KID_SUBSET_SIZE, seed=seed
    )
    precision, recall = precision_recall(real, fake, k=PRECISION_RECALL_K)
    density, coverage = density_coverage(real, fake, k=DENSITY_COVERAGE_K)
    result = {
        "fd": frechet_distance(real, fake),
        "kid": kid,
        "kid_std_error": kid_error,
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
    }
    if fake_probabilities is not None:
        probabilities = _checks.to_numpy(fake_probabilities)
        if probabilities.ndim != 2 or probabilities.shape[0] != fake.shape[0]:
            raise ValueError(
                f"{owner}: `fake_probabilities` must hold one row of class probabilities per sample "
                f"({fake.shape[0]}, C), got shape {probabilities.shape}"
            )
        score, spread = inception_score(probabilities, num_splits=INCEPTION_SCORE_SPLITS)
        result.update(inception_score=score, inception_score_std=spread)
    return result
