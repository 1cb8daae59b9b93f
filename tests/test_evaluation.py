"""Held-out metrics: which metrics run, batching, data scaling, labels, sample metrics and floors, errors."""

import math

import keras
import numpy as np
import pytest

from artifex_keras import data
from artifex_keras import evaluation
from artifex_keras import samplers
from artifex_keras.conditioning import ClassLabels
from artifex_keras.evaluation import available_metrics
from artifex_keras.evaluation import evaluate_model
from artifex_keras.metrics import energy_distance
from artifex_keras.metrics import feature_extractor
from artifex_keras.metrics import mmd
from artifex_keras.metrics import sample_quality
from artifex_keras.metrics import sliced_wasserstein
from artifex_keras.metrics.generated import generated_batches
from artifex_keras.models import VAE
from artifex_keras.models import VQVAE
from artifex_keras.models import ConditionalVAE
from artifex_keras.models import ImageClassifier
from artifex_keras.samplers import GreedySampler
from artifex_keras.samplers import RandomSampler

TINY = {"input_shape": (8, 8, 1), "latent_dim": 2, "hidden_dims": (16,), "seed": 0}
SAMPLE_METRICS = ["fd", "kid", "kid_std_error", "precision", "recall", "density", "coverage"]
IS_METRICS = ["inception_score", "inception_score_std"]


class ElboOnly:
    """A model with only `elbo(x)` (like VQVAE): deterministic, records every call."""

    family = "test"
    data_range = (0.0, 1.0)
    data_shape = (8, 8, 1)

    def __init__(self):
        self.batch_shapes = []
        self.seen = []

    def elbo(self, x):
        self.batch_shapes.append(x.shape)
        self.seen.append(x)
        return -x.reshape(len(x), -1).sum(axis=1)


def test_vae_gets_elbo_and_iwae_metrics_in_nats_and_bits():
    model = VAE(**TINY)
    assert available_metrics(model) == ["elbo", "nll", "generate"]
    result = evaluate_model(model, data="digits", limit=16, capabilities=["elbo", "nll"])
    assert list(result) == [
        "data", "split", "num_examples", "neg_elbo_nats", "neg_elbo_bits_per_dim",
        "iwae_nll_nats", "iwae_nll_bits_per_dim", "iwae_num_samples", "seconds",
    ]  # fmt: skip
    assert (result["data"], result["split"], result["num_examples"]) == ("digits", "test", 16)
    assert result["iwae_num_samples"] == evaluation.DEFAULT_IWAE_SAMPLES == 100
    for name in ("neg_elbo", "iwae_nll"):
        assert math.isclose(result[f"{name}_bits_per_dim"], result[f"{name}_nats"] / (64 * math.log(2)))
    # One batch, so the same draws as calling the model directly.
    x = data.load("digits", split="test", limit=16, with_labels=False)
    assert math.isclose(result["neg_elbo_nats"], float(-np.mean(model.elbo(x))), rel_tol=1e-6)


def test_batches_are_padded_to_one_shape_and_padding_is_dropped():
    model = ElboOnly()
    result = evaluate_model(model, data="digits", split="train", limit=23, batch_size=10)
    assert model.batch_shapes == [(10, 8, 8, 1)] * 3
    x = data.load("digits", split="train", limit=23, with_labels=False)
    assert math.isclose(result["neg_elbo_nats"], float(x.reshape(23, -1).sum(axis=1).mean()), rel_tol=1e-6)
    assert "iwae_nll_nats" not in result and "iwae_num_samples" not in result


def test_symmetric_models_get_data_in_minus_one_to_one():
    model = ElboOnly()
    model.data_range = (-1.0, 1.0)
    evaluate_model(model, data="digits", limit=16)
    seen = np.concatenate(model.seen)
    assert seen.min() == -1.0 and seen.max() == 1.0


def test_conditional_models_get_the_labels():
    class Conditional(ElboOnly):
        def label_spec(self):
            return ClassLabels(10)

        def elbo(self, x, labels=None):
            self.seen.append(labels)
            return np.zeros(len(x))

    model = Conditional()
    evaluate_model(model, data="digits", limit=12, batch_size=12)
    _, y = data.load("digits", split="test", limit=12)
    np.testing.assert_array_equal(model.seen[0], y)

    result = evaluate_model(
        ConditionalVAE(num_classes=10, **TINY), data="digits", limit=16, iwae_samples=3, capabilities=["nll"]
    )
    assert np.isfinite(result["iwae_nll_nats"]) and result["iwae_num_samples"] == 3


class StandardNormalDensity(ElboOnly):
    """A density with a closed-form likelihood: independent N(0, 1) per value, on dequantised 8-bit data."""

    dequantization_scale = 255

    def log_prob(self, x):
        x = np.reshape(x, (len(x), -1))
        return -0.5 * np.sum(x**2 + np.log(2 * np.pi), axis=1)


def test_exact_likelihood_hook_for_flows_and_autoregressive_models():
    model = StandardNormalDensity()
    result = evaluate_model(model, data="digits", limit=10, batch_size=3, capabilities=["log_prob"])
    x, _ = data.load("digits", split="test", limit=10)
    expected = float(np.mean(-model.log_prob(x)))
    assert math.isclose(result["nll_nats"], expected, rel_tol=1e-9)
    dims = 64
    assert math.isclose(result["nll_bits_per_dim"], (expected + dims * np.log(255)) / (dims * np.log(2)), rel_tol=1e-9)
    assert result["nll_dequantization_scale"] == 255
    assert "neg_elbo_nats" not in result
    assert {"nll_nats", "neg_elbo_nats"} <= evaluate_model(model, data="digits", limit=4).keys()


def test_families_add_metrics_through_the_metrics_table(monkeypatch):
    def pixel_mean(model, x, labels, settings):
        return {"pixel_mean": float(np.mean(x)), "batch_size_used": settings["batch_size"]}

    class WithPixelMean(ElboOnly):
        def pixel_mean(self):
            raise AssertionError("only its presence matters")

    monkeypatch.setitem(evaluation.METRICS, "pixel_mean", pixel_mean)
    result = evaluate_model(WithPixelMean(), data="digits", limit=4, batch_size=2)
    assert result["batch_size_used"] == 2 and 0.0 <= result["pixel_mean"] <= 1.0
    assert "neg_elbo_nats" in result


def test_errors_name_the_function_and_argument():
    with pytest.raises(ValueError, match="evaluate_model: no held-out metric fits object; it needs one of the methods"):
        evaluate_model(object(), data="digits")
    with pytest.raises(ValueError, match=r"VAE takes examples of shape \(28, 28, 1\), got \(8, 8, 1\) from"):
        evaluate_model(VAE(input_shape=(28, 28, 1), latent_dim=2, hidden_dims=(8,)), data="digits", limit=4)
    with pytest.raises(ValueError, match="evaluate_model: `num_samples` must be a positive int, got 0"):
        evaluate_model(ElboOnly(), data="digits", num_samples=0)
    with pytest.raises(ValueError, match="evaluate_model: `iwae_samples` must be a positive int, got 0"):
        evaluate_model(ElboOnly(), data="digits", iwae_samples=0)
    with pytest.raises(ValueError, match="evaluate_model: `capabilities` must name entries of METRICS .* got 'fid'"):
        evaluate_model(ElboOnly(), data="digits", capabilities=["fid"])
    with pytest.raises(ValueError, match="evaluate_model: no held-out metric fits ElboOnly; it needs one of the meth"):
        evaluate_model(ElboOnly(), data="digits", capabilities=["generate"])
    with pytest.raises(ValueError, match="evaluate_model: `seed` must be a non-negative int, got -1"):
        evaluate_model(ElboOnly(), data="digits", seed=-1)
    with pytest.raises(ValueError, match="evaluate_model: `cas` must be a bool or a dict with keys among"):
        evaluate_model(ElboOnly(), data="digits", cas={"epoch": 1})
    model = VAE(**TINY)
    with pytest.raises(ValueError, match="evaluate_model: `num_samples` must be at least 10 for the sample metrics"):
        evaluate_model(model, data="digits", num_samples=9, capabilities=["generate"])
    with pytest.raises(ValueError, match="evaluate_model: the sample metrics need at least 10 real examples, got 4"):
        evaluate_model(model, data="digits", limit=4, capabilities=["generate"])
    with pytest.raises(ValueError, match="evaluate_model: `batch_size` must be a positive int, got -1"):
        evaluate_model(ElboOnly(), data="digits", batch_size=-1)
    with pytest.raises(ValueError, match="load: unknown dataset 'digitz'"):
        evaluate_model(ElboOnly(), data="digitz")


# Sample metrics -----------------------------------------------------------------
def test_vae_sample_metrics_and_floors_in_the_shipped_classifier_space():
    evaluation.clear_cache()
    model = VAE(**TINY)
    result = evaluate_model(model, data="digits", limit=60, num_samples=40, iwae_samples=2)
    assert list(result) == [
        "data", "split", "num_examples", "neg_elbo_nats", "neg_elbo_bits_per_dim", "iwae_nll_nats",
        "iwae_nll_bits_per_dim", "iwae_num_samples", "extractor", "feature_dim", "num_samples", "seed",
        "generation_block", *SAMPLE_METRICS, *IS_METRICS, "floor", "seconds",
    ]  # fmt: skip
    assert (result["extractor"], result["num_samples"], result["seed"]) == ("digits_classifier", 40, 0)
    floor = result["floor"]
    assert list(floor) == ["reference_split", "num_examples", *SAMPLE_METRICS, *IS_METRICS]
    assert (floor["reference_split"], floor["num_examples"]) == ("train", 40)
    for values in (result, floor):
        assert all(np.isfinite(values[name]) for name in SAMPLE_METRICS + IS_METRICS)
        assert 0 <= values["precision"] <= 1 and 0 <= values["recall"] <= 1 and 0 <= values["coverage"] <= 1
        assert 1 <= values["inception_score"] <= 10
    # An untrained VAE is far from the data; real digits are close to each other.
    assert result["fd"] > floor["fd"] and result["inception_score"] < floor["inception_score"]

    # The same numbers as the metrics on the same samples and real features.
    extractor = feature_extractor("digits_classifier")
    real, real_probabilities = extractor.extract(data.load("digits", split="test", limit=60, with_labels=False))
    fake, fake_probabilities = extractor.extract(np.concatenate(list(generated_batches(model, 40, seed=0))))
    expected = sample_quality(real, fake, fake_probabilities, seed=0)
    for name in SAMPLE_METRICS + IS_METRICS:
        assert math.isclose(result[name], expected[name], rel_tol=1e-6, abs_tol=1e-9), name
    train = extractor.extract(data.load("digits", split="train", limit=40, with_labels=False))[0]
    assert math.isclose(floor["fd"], sample_quality(real, train)["fd"], rel_tol=1e-6)


def test_sample_metrics_do_not_depend_on_the_batch_size():
    model = VAE(**TINY)
    kwargs = {"data": "digits", "limit": 50, "num_samples": 30, "capabilities": ["generate"]}
    results = [evaluate_model(model, batch_size=batch_size, **kwargs) for batch_size in (7, 64)]
    evaluation.clear_cache()  # the floor too, recomputed at the other batch size
    results.append(evaluate_model(model, batch_size=16, **kwargs))
    for name in SAMPLE_METRICS + IS_METRICS:
        for other in results[1:]:
            assert math.isclose(results[0][name], other[name], rel_tol=1e-5, abs_tol=1e-9), name
            assert math.isclose(results[0]["floor"][name], other["floor"][name], rel_tol=1e-5, abs_tol=1e-9), name
    different_seed = evaluate_model(model, seed=1, **kwargs)
    assert different_seed["fd"] != results[0]["fd"]


def test_floors_are_cached_per_dataset_extractor_and_sample_count(monkeypatch):
    evaluation.clear_cache()
    model = VAE(**TINY)
    kwargs = {"data": "digits", "limit": 30, "capabilities": ["generate"]}
    first = evaluate_model(model, **kwargs)
    assert first["num_samples"] == 30 and first["floor"]["num_examples"] == 30  # default: as many as evaluated
    calls = []
    def counted(*args, **kwargs):
        calls.append(1)
        return sample_quality(*args, **kwargs)

    monkeypatch.setattr(evaluation, "sample_quality", counted)
    second = evaluate_model(model, **kwargs)
    assert calls == [1] and second["floor"] == first["floor"]  # only the generated side was measured again
    evaluate_model(model, num_samples=20, **kwargs)
    assert len(calls) == 3  # a new sample count: a new floor
    assert len(evaluation._FLOORS) == 2


def test_any_keras_model_as_extractor_and_the_train_split_floor():
    model = VAE(**TINY)
    network = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(6)], name="flat6")
    result = evaluate_model(model, data="digits", split="train", limit=40, extractor=network, capabilities=["generate"])
    assert (result["extractor"], result["feature_dim"]) == ("flat6", 6)
    assert "inception_score" not in result and "inception_score" not in result["floor"]
    assert (result["floor"]["reference_split"], result["floor"]["num_examples"]) == ("test", 40)


def test_conditional_models_generate_the_split_labels_and_get_cas():
    x, y = data.load("digits")
    model = ConditionalVAE(num_classes=10, **TINY)
    model.fit(x[:256], y[:256], epochs=1, batch_size=64, verbose=0)
    seen = []
    generate = model.generate
    model.generate = lambda n, seed=None, labels=None, **kw: seen.append(labels) or generate(n, seed, labels=labels)
    def tiny_classifier(input_shape, num_classes):
        return ImageClassifier(input_shape=input_shape, num_classes=num_classes, filters=(8,), feature_dim=8)

    cas = {"num_per_class": 5, "epochs": 1, "batch_size": 25, "classifier_factory": tiny_classifier}
    result = evaluate_model(model, data="digits", limit=24, num_samples=30, capabilities=["generate"], cas=cas)
    _, test_y = data.load("digits", split="test", limit=24)
    np.testing.assert_array_equal(seen[0], np.resize(test_y, 30))
    assert (result["cas_num_per_class"], result["cas_epochs"]) == (5, 1)
    assert 0 <= result["cas"] <= 1 and 0 <= result["floor"]["cas"] <= 1
    assert "cas" not in evaluate_model(model, data="digits", limit=24, capabilities=["generate"])


def test_classifiers_get_their_accuracy():
    model = ImageClassifier.from_preset("digits_classifier")
    assert available_metrics(model) == ["predict_proba"]
    result = evaluate_model(model, data="digits")
    assert list(result) == ["data", "split", "num_examples", "accuracy", "seconds"]
    assert result["accuracy"] > 0.9


def test_the_sampler_reaches_generate_and_is_recorded():
    model = VQVAE(input_shape=(8, 8, 1), hidden_dims=(8, 16), num_embeddings=8, embedding_dim=4, prior_filters=8,
                  prior_layers=2)  # fmt: skip
    seen = []
    generate = model.generate
    model.generate = lambda n, seed=None, **kwargs: seen.append(kwargs.get("sampler")) or generate(n, seed, **kwargs)
    result = evaluate_model(model, data="digits", limit=20, capabilities=["generate"], sampler="greedy")
    assert seen and all(sampler == GreedySampler() for sampler in seen)
    assert result["sampler"] == samplers.serialize(GreedySampler())
    default = evaluate_model(model, data="digits", limit=20, capabilities=["generate"])
    assert default["sampler"] == samplers.serialize(RandomSampler())
    with pytest.raises(ValueError, match="evaluate_model: VAE draws its samples directly and takes no `sampler`"):
        evaluate_model(VAE(**TINY), data="digits", limit=20, capabilities=["generate"], sampler="greedy")


class ShiftedPoints:
    """A 2-D model that replays the train split shifted by `shift` (no randomness), with its draws recorded."""

    family = "test"
    data_range = None
    data_shape = (2,)

    def __init__(self, shift):
        self.points = data.load("eight_gaussians", split="train", with_labels=False, limit=400) + shift
        self.drawn = 0

    def generate(self, num_samples, seed=None, **kwargs):
        samples = self.points[self.drawn : self.drawn + num_samples]
        self.drawn += num_samples
        return samples


def test_point_models_get_sample_distances_with_the_real_floor():
    assert available_metrics(ShiftedPoints(0.0)) == ["generate"]
    result = evaluate_model(ShiftedPoints(0.5), data="eight_gaussians", limit=300, num_samples=200)
    test = data.load("eight_gaussians", split="test", with_labels=False, limit=300)[:200]
    samples = data.load("eight_gaussians", split="train", with_labels=False, limit=200) + 0.5
    assert result["num_samples"] == 200
    assert math.isclose(result["energy_distance"], energy_distance(samples, test), rel_tol=1e-6)
    assert math.isclose(result["mmd"], mmd(samples, test), rel_tol=1e-6)
    assert math.isclose(result["sliced_wasserstein"], sliced_wasserstein(samples, test, seed=0), rel_tol=1e-6)
    # The floor is the same model without the shift: the real train points against the test points.
    floor = evaluate_model(ShiftedPoints(0.0), data="eight_gaussians", limit=300, num_samples=200)
    assert result["floor"] == {"reference_split": "train", "num_examples": 200, **{
        name: floor[name] for name in ("energy_distance", "mmd", "sliced_wasserstein")}}  # fmt: skip
    assert result["energy_distance"] > 5 * floor["energy_distance"]
