"""Image classifiers: the feature extractors behind the sample-quality metrics."""

from artifex_keras.models.classifier.image_classifier import ImageClassifier
from artifex_keras.models.classifier.image_classifier import ImageClassifierConfig

__all__ = ["ImageClassifier", "ImageClassifierConfig"]
