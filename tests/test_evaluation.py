"""Held-out metrics: which metrics run, batching, data scaling, labels, errors."""

import math

import numpy as np
import pytest

from artifex_keras import data
from artifex_keras import evaluation
from artifex_keras.evaluation import available_metrics
from artifex_keras.evaluation import evaluate_model
from artifex_keras.models import VAE
from artifex_keras.models import ConditionalVAE

TINY = {"input_shape": (8, 8, 1), "latent_dim": 2, "hidden_dims": (16,), "seed": 0}


class ElboOnly:
    """A model with only `elbo(x)` (like VQVAE): deterministic, records every call."""

    family = "test"
    is_conditional = False
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
    assert available_metrics(model) == ["elbo", "nll"]
    result = evaluate_model(model, data="digits", limit=16)
    assert list(result) == [
        "data", "split", "num_examples", "neg_elbo_nats", "neg_elbo_bits_per_dim",
        "iwae_nll_nats", "iwae_nll_bits_per_dim", "iwae_num_samples", "seconds",
    ]  # fmt: skip
    assert (result["data"], result["split"], result["num_examples"]) == ("digits", "test", 16)
    assert result["iwae_num_samples"] == evaluation.DEFAULT_NUM_SAMPLES == 100
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
        is_conditional = True

        def elbo(self, x, labels=None):
            self.seen.append(labels)
            return np.zeros(len(x))

    model = Conditional()
    evaluate_model(model, data="digits", limit=12, batch_size=12)
    _, y = data.load("digits", split="test", limit=12)
    np.testing.assert_array_equal(model.seen[0], y)

    result = evaluate_model(ConditionalVAE(num_classes=10, **TINY), data="digits", limit=16, num_samples=3)
    assert np.isfinite(result["iwae_nll_nats"])


def test_families_add_metrics_through_the_metrics_table(monkeypatch):
    class Flow(ElboOnly):
        def log_prob(self, x):
            return np.full(len(x), -10.0)

    def exact_nll(model, x, labels, settings):
        return {"nll_nats": float(-np.mean(model.log_prob(x))), "batch_size_used": settings["batch_size"]}

    monkeypatch.setitem(evaluation.METRICS, "log_prob", exact_nll)
    result = evaluate_model(Flow(), data="digits", limit=4, batch_size=2)
    assert result["nll_nats"] == 10.0 and result["batch_size_used"] == 2
    assert "neg_elbo_nats" in result


def test_errors_name_the_function_and_argument():
    with pytest.raises(ValueError, match="evaluate_model: no held-out metric fits object; it needs one of the methods"):
        evaluate_model(object(), data="digits")
    with pytest.raises(ValueError, match=r"VAE takes examples of shape \(28, 28, 1\), got \(8, 8, 1\) from"):
        evaluate_model(VAE(input_shape=(28, 28, 1), latent_dim=2, hidden_dims=(8,)), data="digits", limit=4)
    with pytest.raises(ValueError, match="evaluate_model: `num_samples` must be a positive int, got 0"):
        evaluate_model(ElboOnly(), data="digits", num_samples=0)
    with pytest.raises(ValueError, match="evaluate_model: `batch_size` must be a positive int, got -1"):
        evaluate_model(ElboOnly(), data="digits", batch_size=-1)
    with pytest.raises(ValueError, match="load: unknown dataset 'digitz'"):
        evaluate_model(ElboOnly(), data="digitz")
