"""feature_extractor: shipped preset names, preset directories, Keras models and callables."""

import keras
import numpy as np
import pytest

from artifex_keras.metrics import FeatureExtractor
from artifex_keras.metrics import default_extractor
from artifex_keras.metrics import extract_features
from artifex_keras.metrics import feature_extractor
from artifex_keras.models import VAE
from artifex_keras.models import ImageClassifier
from artifex_keras.presets import resolve_preset
from tests.checks import digits

TINY = {"input_shape": (8, 8, 1), "num_classes": 10, "filters": (8, 16), "feature_dim": 12, "seed": 0}


@pytest.fixture(scope="module")
def images():
    return digits(37)


def test_shipped_preset_name_gives_features_and_probabilities(images):
    extractor = feature_extractor("digits_classifier")
    assert isinstance(extractor, FeatureExtractor) and extractor.name == "digits_classifier"
    assert extractor.has_probabilities
    features, probabilities = extractor.extract(images, batch_size=16)
    classifier = ImageClassifier.from_preset("digits_classifier")
    assert features.shape == (37, classifier.config.feature_dim) and features.dtype == np.float64
    np.testing.assert_allclose(features, classifier.features(images), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probabilities, classifier.predict_proba(images), atol=1e-6)
    # Calling it gives the features of one batch, so it plugs into extract_features.
    np.testing.assert_allclose(extract_features(extractor, images, batch_size=10), features, rtol=1e-5, atol=1e-5)
    assert default_extractor("digits").key == extractor.key


def test_preset_directory_and_classifier_instance_give_the_same_features(images, tmp_path):
    by_name, _ = feature_extractor("digits_classifier").extract(images)
    directory = resolve_preset("digits_classifier")
    by_directory = feature_extractor(directory)
    assert by_directory.name == str(directory)
    np.testing.assert_allclose(by_directory.extract(images)[0], by_name, rtol=1e-6)

    classifier = ImageClassifier(**TINY)
    classifier.save_to_preset(tmp_path / "mine")
    mine = feature_extractor(tmp_path / "mine").extract(images)[0]
    np.testing.assert_allclose(mine, classifier.features(images), rtol=1e-5, atol=1e-6)
    instance = feature_extractor(classifier)
    assert instance.has_probabilities and instance.name == classifier.name
    np.testing.assert_allclose(instance.extract(images)[0], mine, rtol=1e-5, atol=1e-6)


def test_any_keras_model_is_used_as_is_after_resizing_and_channel_repetition(images):
    network = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()], name="rgb16"
    )
    extractor = feature_extractor(network)
    assert (extractor.name, extractor.image_size, extractor.channels) == ("rgb16", (16, 16), 3)
    assert not extractor.has_probabilities
    features, probabilities = extractor.extract(images, batch_size=8)
    assert probabilities is None and features.shape == (37, 4)
    prepared = np.repeat(keras.ops.convert_to_numpy(keras.ops.image.resize(images, (16, 16))), 3, axis=-1)
    np.testing.assert_allclose(features, keras.ops.convert_to_numpy(network(prepared)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "input_scale, scale, shift", [("unit", 1.0, 0.0), ("symmetric", 2.0, -1.0), ("raw", 255.0, 0.0)]
)
def test_input_scale_and_preprocess(images, input_scale, scale, shift):
    network = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    extractor = feature_extractor(network, input_scale=input_scale, preprocess=lambda batch: batch + 1.0)
    features, _ = extractor.extract(images)
    np.testing.assert_allclose(features, images.reshape(37, -1) * scale + shift + 1.0, rtol=1e-6, atol=1e-5)


def test_callables_and_explicit_sizes(images):
    extractor = feature_extractor(lambda batch: batch.mean(axis=(1, 2)), image_size=(4, 4), channels=2)
    features = extractor(images[:5])
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(images[:5], (4, 4)))
    np.testing.assert_allclose(features, np.repeat(resized.mean(axis=(1, 2)), 2, axis=-1), rtol=1e-6)
    assert feature_extractor(extractor) is extractor


def test_errors_name_the_argument(images, tmp_path):
    with pytest.raises(ValueError, match="feature_extractor: `input_scale` must be one of 'unit', 'symmetric', 'raw'"):
        feature_extractor("digits_classifier", input_scale="0-255")
    with pytest.raises(ValueError, match=r"feature_extractor: `image_size` must be \(height, width\) or None, got 299"):
        feature_extractor("digits_classifier", image_size=299)
    with pytest.raises(ValueError, match="feature_extractor: `name_or_model` must be a classifier preset name"):
        feature_extractor(42)
    with pytest.raises(ValueError, match="from_preset: unknown preset 'digits_clasifier'. Did you mean"):
        feature_extractor("digits_clasifier")
    VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_dims=(8,)).save_to_preset(tmp_path / "vae")
    with pytest.raises(ValueError, match="feature_extractor: preset .* holds a VAE, not an ImageClassifier"):
        feature_extractor(tmp_path / "vae")
    ImageClassifier(**TINY).save_to_preset(tmp_path / "untrained")
    (tmp_path / "untrained" / "model.weights.h5").unlink()
    with pytest.raises(ValueError, match=r"feature_extractor: preset .* has no trained weights \(model.weights.h5\)"):
        feature_extractor(tmp_path / "untrained")
    with pytest.raises(ValueError, match="default_extractor: no shipped feature extractor for dataset 'mnist'"):
        default_extractor("mnist")
    rgb = feature_extractor(lambda batch: batch, channels=1)
    with pytest.raises(ValueError, match="can only repeat a single channel to `channels`=1, got images with 3"):
        rgb.extract(np.zeros((2, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r"FeatureExtractor.extract: `images` must be a non-empty image array"):
        rgb.extract(np.zeros((2, 4, 4), "float32"))
    pair = feature_extractor(lambda batch: (batch, batch))
    with pytest.raises(ValueError, match="must return one feature array per batch, got a tuple"):
        pair.extract(images)
