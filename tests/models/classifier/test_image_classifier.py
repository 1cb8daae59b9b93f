"""ImageClassifier: config, training, NumPy API, saving and presets; the shipped classifier presets."""

import json

import keras
import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras import presets
from artifex_keras.conditioning import ClassLabels
from artifex_keras.models import VAE
from artifex_keras.models import ImageClassifier
from artifex_keras.models.classifier import ImageClassifierConfig
from tests.checks import digits

TINY = {"input_shape": (8, 8, 1), "num_classes": 10, "filters": (8, 16), "feature_dim": 12, "seed": 0}
# The shipped presets and the test accuracy each must reach (the targets).
SHIPPED = {"digits_classifier": ("digits", 0.95), "fashion_mnist_classifier": ("fashion_mnist", 0.91)}


def test_construction_config_round_trip_and_registry():
    model = ImageClassifier(**TINY)
    assert ImageClassifier(ImageClassifierConfig(**TINY)).config == model.config
    assert ImageClassifier({**TINY, "dropout": 0.1}).config.dropout == 0.1
    config = model.get_config()
    rebuilt = ImageClassifier.from_config(config)
    assert rebuilt.get_config() == config
    assert [v.shape for v in rebuilt.weights] == [v.shape for v in model.weights]
    assert ImageClassifier.family == "feature_extractor" and model.label_spec() == ClassLabels(10)
    assert "image_classifier" in ak.list_models()
    assert type(ak.create_model("image_classifier", **TINY)) is ImageClassifier


def test_seeded_models_start_identical():
    first, second = ImageClassifier(**TINY), ImageClassifier(**TINY)
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_fit_lowers_the_loss_and_the_numpy_api(tmp_path):
    x, y = digits(256, with_labels=True)
    model = ImageClassifier(**TINY)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    model.fit(x, y, epochs=8, batch_size=64, verbose=0)
    after = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"] and after["accuracy"] > before["accuracy"]

    features = model.features(x[:20], batch_size=8)
    probabilities = model.predict_proba(x[:20], batch_size=8)
    assert features.shape == (20, 12) and features.dtype == np.float32 and features.min() >= 0.0  # ReLU
    assert probabilities.shape == (20, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    both = model.features_and_probabilities(x[:20], batch_size=20)
    np.testing.assert_allclose(both[0], features, atol=1e-5)
    np.testing.assert_allclose(both[1], probabilities, atol=1e-5)
    logits = keras.ops.convert_to_numpy(model(x[:20]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.softmax(logits)), probabilities, atol=1e-5)

    # .keras save and load: same class, same outputs.
    path = str(tmp_path / "classifier.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is ImageClassifier
    np.testing.assert_allclose(loaded.features(x[:20]), features, atol=1e-5)

    # Preset round trip, through the class and through artifex_keras.from_preset.
    directory = tmp_path / "preset"
    model.save_to_preset(directory, metadata={"description": "tiny digits classifier"})
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["family"] == "feature_extractor" and metadata["class_name"] == "ImageClassifier"
    assert metadata["parameters"] == model.count_params()
    for restored in (ImageClassifier.from_preset(directory), ak.from_preset(directory)):
        assert type(restored) is ImageClassifier and restored.get_config() == model.get_config()
        np.testing.assert_allclose(restored.predict_proba(x[:20]), probabilities, atol=1e-5)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("num_classes", 1, "`num_classes` must be at least 2, got 1"),
        ("filters", (), "`filters` must be a tuple of positive ints, got ()"),
        ("input_shape", (8, 8), "`input_shape` must be a tuple of 3 positive ints, got (8, 8)"),
        ("dropout", 1.0, "`dropout` must be a finite number in [0.0, 1.0), got 1.0"),
        ("feature_dim", 0, "`feature_dim` must be a positive int, got 0"),
    ],
)
def test_bad_config_values_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=f"ImageClassifierConfig: {message}".replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):  # fmt: skip
        ImageClassifier(**{**TINY, field: value})


def test_errors_name_the_method_and_argument(tmp_path):
    x, y = digits(16, with_labels=True)
    model = ImageClassifier(**TINY)
    with pytest.raises(ValueError, match="ImageClassifier: unknown argument 'latent_dim'"):
        ImageClassifier(latent_dim=2)
    with pytest.raises(ValueError, match=r"ImageClassifier.fit: `y` \(class labels\) is required"):
        model.fit(x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"ImageClassifier.fit: `y` must lie in \[0, 9\]"):
        model.fit(x, y + 10, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"ImageClassifier.features: `x` must have shape \(batch, 8, 8, 1\)"):
        model.features(np.zeros((2, 28, 28, 1), "float32"))
    with pytest.raises(ValueError, match=r"ImageClassifier.predict_proba: `x` must lie in \[0.0, 1.0\]"):
        model.predict_proba(x * 2.0)
    with pytest.raises(ValueError, match="ImageClassifier.features: `x` must be an array of images"):
        model.features([1, 2, 3])
    VAE(input_shape=(8, 8, 1), latent_dim=2, hidden_dims=(8,)).save_to_preset(tmp_path / "vae")
    with pytest.raises(ValueError, match="ImageClassifier.from_preset: preset .* holds a VAE, not a ImageClassifier"):
        ImageClassifier.from_preset(tmp_path / "vae")


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_presets_record_how_they_were_trained_and_reach_their_target(name):
    assert name in ak.list_presets(), f"preset {name} must be shipped"
    dataset, target = SHIPPED[name]
    metadata = presets.preset_metadata(name)
    assert metadata["family"] == "feature_extractor" and metadata["backend"] == "jax"
    assert metadata["command"].startswith(f"artifex-keras train image_classifier --data {dataset} ")
    assert metadata["training"]["data"] == dataset and metadata["training"]["epochs"] > 0
    assert {"artifex_keras", "keras", "jax"} <= set(metadata["versions"])
    assert metadata["metrics"]["split"] == "test" and metadata["metrics"]["accuracy"] >= target
    assert (presets.resolve_preset(name) / presets.WEIGHTS_FILE).stat().st_size < 1_000_000
    # Re-measured on the whole test split; convolutions round differently on each backend, which may
    # flip a prediction or two.
    x, y = ak.data.load(dataset, split="test")
    model = ImageClassifier.from_preset(name)
    accuracy = float(np.mean(model.predict_proba(x).argmax(axis=1) == y))
    assert abs(accuracy - metadata["metrics"]["accuracy"]) <= 2.5 / len(y)
