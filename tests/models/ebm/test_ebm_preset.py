"""The shipped EBM preset: it loads, ranks data above noise, and re-measures its recorded sample distances."""

import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras import evaluation
from artifex_keras.models import EBM
from tests.checks.presets import check_shipped_preset


def test_ebm_eight_gaussians_gives_data_lower_energy_than_noise():
    model = check_shipped_preset("ebm_eight_gaussians", EBM)
    x = ak.data.load("eight_gaussians", split="test", with_labels=False, limit=2000)
    noise = np.random.default_rng(0).uniform(-4, 4, size=(2000, 2)).astype("float32")
    assert model.energy(x).mean() + 1.0 < model.energy(noise).mean()


@pytest.mark.slow
@pytest.mark.jax_only
def test_ebm_eight_gaussians_reproduces_its_sample_distances():
    # The recorded draw is JAX's random stream: other backends draw other (equally good) chains.
    model = ak.from_preset("ebm_eight_gaussians")
    recorded = ak.preset_metadata("ebm_eight_gaussians")["evaluation"]["metrics"]
    measured = ak.evaluate_model(model, data="eight_gaussians", seed=recorded["seed"], capabilities=["generate"])
    for name in ("energy_distance", "mmd", "sliced_wasserstein"):
        np.testing.assert_allclose(measured[name], recorded[name], rtol=1e-4, atol=1e-7, err_msg=name)
    untrained = ak.from_preset("ebm_eight_gaussians", load_weights=False)
    baseline = ak.evaluate_model(untrained, data="eight_gaussians", num_samples=1000, capabilities=["generate"])
    assert measured["energy_distance"] < 0.2 * baseline["energy_distance"]


def test_ebm_fashion_mnist_ranks_test_images_above_noise():
    model = check_shipped_preset("ebm_fashion_mnist", EBM)
    x = ak.data.load("fashion_mnist", split="test", with_labels=False, limit=500)
    noise = np.random.default_rng(0).uniform(0, 1, size=x.shape).astype("float32")
    assert model.energy(x).mean() < model.energy(noise).mean()


@pytest.mark.slow
def test_ebm_fashion_mnist_samples_are_closer_to_the_data_than_an_untrained_model():
    model = ak.from_preset("ebm_fashion_mnist")
    samples = model.generate(4, seed=0)
    assert samples.shape == (4, 28, 28, 1) and 0.0 <= samples.min() and samples.max() <= 1.0
    # FD of 200 chains against 200 test images (biased up by the small sets); 12.0 recorded on 2,000.
    evaluation.clear_cache()
    trained = ak.evaluate_model(model, data="fashion_mnist", limit=200, capabilities=["generate"])["fd"]
    untrained = ak.from_preset("ebm_fashion_mnist", load_weights=False)
    baseline = ak.evaluate_model(untrained, data="fashion_mnist", limit=200, capabilities=["generate"])["fd"]
    assert trained < 0.5 * baseline, (trained, baseline)
