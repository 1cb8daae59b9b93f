"""The shipped EBM preset: it loads, ranks data above noise, and re-measures its recorded sample distances."""

import numpy as np
import pytest

import artifex_keras as ak
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
