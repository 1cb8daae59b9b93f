"""Classification Accuracy Score on the 8x8 digits with tiny models."""

import keras
import numpy as np
import pytest

from artifex_keras.conditioning import ClassLabels
from artifex_keras.metrics import classification_accuracy_score
from artifex_keras.models import VAE
from artifex_keras.models import ConditionalVAE
from artifex_keras.models import ImageClassifier
from tests.checks import digits

CLASSIFIER = {"filters": (8, 16), "feature_dim": 16}
FAST = {"num_per_class": 20, "epochs": 5, "batch_size": 16}


def tiny_classifier(input_shape, num_classes):
    model = ImageClassifier(input_shape=input_shape, num_classes=num_classes, seed=0, **CLASSIFIER)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))  # a few steps must suffice
    return model


class TrainingSetModel:
    """A conditional 'generator' that returns the real training images of each requested class, in order."""

    data_range = (0.0, 1.0)
    data_shape = (8, 8, 1)

    def condition_spec(self):
        return ClassLabels(10)

    def __init__(self, x, y):
        self.x, self.y, self.used = x, y, {}

    def generate(self, num_samples, seed=None, labels=None):
        out = []
        for label in labels:
            index = self.used.get(int(label), 0)
            out.append(self.x[np.flatnonzero(self.y == label)[index]])
            self.used[int(label)] = index + 1
        return np.stack(out)


@pytest.fixture(scope="module")
def data():
    x, y = digits(1500, with_labels=True)
    return x, y, x[1200:], y[1200:]


def test_a_model_that_returns_the_training_data_scores_the_real_baseline(data):
    x, y, test_x, test_y = data
    model = TrainingSetModel(x, y)
    score, real = classification_accuracy_score(
        model, test_x, test_y, classifier_factory=tiny_classifier, real_train=(x, y), **FAST
    )
    assert score == real
    assert real > 0.4  # well above chance (0.1) after 5 short epochs


def test_conditional_vae_score_is_reproducible_and_a_probability(data):
    x, y, test_x, test_y = data
    model = ConditionalVAE(input_shape=(8, 8, 1), num_classes=10, latent_dim=2, hidden_dims=(32,), seed=0)
    model.fit(x[:512], y[:512], epochs=2, batch_size=64, verbose=0)
    quick = {"num_per_class": 10, "epochs": 2, "batch_size": 50, "classifier_factory": tiny_classifier}
    score = classification_accuracy_score(model, test_x, test_y, **quick)
    assert 0.0 <= score <= 1.0 and isinstance(score, float)
    assert classification_accuracy_score(model, test_x, test_y, **quick) == score
    # The default classifier is an ImageClassifier seeded with `seed`.
    default = classification_accuracy_score(model, test_x[:50], test_y[:50], num_per_class=5, epochs=1)
    assert 0.0 <= default <= 1.0


def test_errors_name_the_argument(data):
    x, y, test_x, test_y = data
    unconditional = VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_dims=(8,))
    with pytest.raises(ValueError, match="classification_accuracy_score: `model` must be a class-conditional"):
        classification_accuracy_score(unconditional, test_x, test_y)
    model = TrainingSetModel(x, y)
    with pytest.raises(ValueError, match="`num_per_class` must be a positive int, got 0"):
        classification_accuracy_score(model, test_x, test_y, num_per_class=0)
    with pytest.raises(ValueError, match=r"`real_test_x` must have shape \(batch, 8, 8, 1\)"):
        classification_accuracy_score(model, test_x[..., 0], test_y)
    with pytest.raises(ValueError, match=r"`real_test_y` must hold one label per image of `real_test_x` \(300,\)"):
        classification_accuracy_score(model, test_x, test_y[:10])
    with pytest.raises(ValueError, match=r"`real_test_x` must lie in \[0.0, 1.0\]"):
        classification_accuracy_score(model, test_x * 2 - 1, test_y)
    with pytest.raises(ValueError, match="`real_train` must be an \\(x, y\\) pair or None, got ndarray"):
        classification_accuracy_score(model, test_x, test_y, real_train=x, classifier_factory=tiny_classifier, **FAST)
    with pytest.raises(ValueError, match="`classifier_factory` must return a keras.Model, got str"):
        classification_accuracy_score(model, test_x, test_y, num_per_class=2, classifier_factory=lambda s, c: "cnn")
