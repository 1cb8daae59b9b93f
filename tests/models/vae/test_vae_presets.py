"""Shipped VAE-family presets load on every backend and still reach their recorded test ELBO."""

import numpy as np
import pytest

import artifex_keras as ak
from tests.checks.presets import check_preset_metric
from tests.checks.presets import check_shipped_preset

VAE_PRESETS = ak.list_presets(family="vae")


def test_the_vae_family_ships_its_presets():
    for name in ("vae_fashion_mnist", "beta_vae_fashion_mnist", "cvae_fashion_mnist", "vqvae_fashion_mnist"):
        assert name in VAE_PRESETS


@pytest.mark.parametrize("name", VAE_PRESETS)
def test_preset_reproduces_its_recorded_test_elbo(name):
    # The full 10,000-image test split, as recorded: within 0.1% (the one-sample ELBO's noise
    # on 10,000 images is about 0.02%, and differs between backends' random streams).
    model = check_shipped_preset(name)
    x, y = ak.data.load("fashion_mnist", split="test")
    labels = {"labels": y} if model.label_spec() is not None else {}
    neg_elbo = -model.elbo(x, **labels).mean()
    check_preset_metric(name, neg_elbo, "neg_elbo_nats", rtol=1e-3)
    samples = model.generate(4, seed=0, **model.example_conditions(4))
    assert samples.shape == (4, 28, 28, 1) and np.all(np.isfinite(samples))
