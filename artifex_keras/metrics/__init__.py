"""Sample-quality and likelihood metrics, computed in float64 NumPy so every backend gives the same numbers.

Feature-based metrics (Fréchet distance, KID, precision/recall, density/coverage)
take features from any Keras model via `extract_features`; `feature_extractor`
wraps our shipped classifier presets (the default feature space, offline) or
any network, such as Inception-v3 for users with its weights. The others work
on samples, images, class probabilities or log-likelihoods directly;
`classification_accuracy_score` trains a classifier on a conditional model's
samples and tests it on real data.

Example:
```python
import artifex_keras as ak

real = ak.metrics.extract_features(extractor, x_test)
fake = ak.metrics.extract_features(extractor, model.generate(10000, seed=0))
ak.metrics.frechet_distance(real, fake)
ak.metrics.kernel_inception_distance(real, fake)     # (mean, std_error)
ak.metrics.precision_recall(real, fake)              # (precision, recall)

ours = ak.metrics.feature_extractor("fashion_mnist_classifier")
real, _ = ours.extract(x_test)
fake, probabilities = ours.extract(model.generate(10000, seed=0))
ak.metrics.sample_quality(real, fake, probabilities)  # FD, KID, P/R, D/C, IS in one dict
```
"""

from artifex_keras.metrics.cas import classification_accuracy_score
from artifex_keras.metrics.distances import energy_distance
from artifex_keras.metrics.distances import mmd
from artifex_keras.metrics.distances import sliced_wasserstein
from artifex_keras.metrics.extractors import DEFAULT_EXTRACTORS
from artifex_keras.metrics.extractors import FeatureExtractor
from artifex_keras.metrics.extractors import default_extractor
from artifex_keras.metrics.extractors import feature_extractor
from artifex_keras.metrics.features import FeatureStatistics
from artifex_keras.metrics.features import extract_features
from artifex_keras.metrics.features import extract_statistics
from artifex_keras.metrics.frechet import frechet_distance
from artifex_keras.metrics.frechet import frechet_distance_from_moments
from artifex_keras.metrics.generated import generated_batches
from artifex_keras.metrics.image_similarity import ms_ssim
from artifex_keras.metrics.image_similarity import psnr
from artifex_keras.metrics.image_similarity import ssim
from artifex_keras.metrics.inception_score import inception_score
from artifex_keras.metrics.kid import kernel_inception_distance
from artifex_keras.metrics.likelihood import bits_per_dim
from artifex_keras.metrics.likelihood import elbo_from_terms
from artifex_keras.metrics.likelihood import importance_weighted_nll
from artifex_keras.metrics.likelihood import nats_to_bits_per_dim
from artifex_keras.metrics.precision_recall import density_coverage
from artifex_keras.metrics.precision_recall import precision_recall
from artifex_keras.metrics.sample_quality import sample_quality

__all__ = [
    "DEFAULT_EXTRACTORS",
    "FeatureExtractor",
    "FeatureStatistics",
    "bits_per_dim",
    "classification_accuracy_score",
    "default_extractor",
    "density_coverage",
    "elbo_from_terms",
    "energy_distance",
    "extract_features",
    "extract_statistics",
    "feature_extractor",
    "frechet_distance",
    "frechet_distance_from_moments",
    "generated_batches",
    "importance_weighted_nll",
    "inception_score",
    "kernel_inception_distance",
    "mmd",
    "ms_ssim",
    "nats_to_bits_per_dim",
    "precision_recall",
    "psnr",
    "sample_quality",
    "sliced_wasserstein",
    "ssim",
]
