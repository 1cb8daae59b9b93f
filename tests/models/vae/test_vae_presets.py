"""Shipped VAE-family presets load on every backend and still reach their recorded metric."""

import numpy as np
import pytest

import artifex_keras as ak

VAE_PRESETS = ak.list_presets(family="vae")


def test_the_vae_family_ships_its_presets():
    for name in ("vae_fashion_mnist", "beta_vae_fashion_mnist", "cvae_fashion_mnist", "vqvae_fashion_mnist"):
        assert name in VAE_PRESETS


@pytest.mark.parametrize("name", VAE_PRESETS)
def test_preset_reproduces_its_recorded_test_elbo(name):
    model = ak.from_preset(name)
    metadata = ak.preset_metadata(name)
    x, y = ak.data.load("fashion_mnist", split="test", limit=1000)
    labels = {"labels": y} if model.is_conditional else {}
    samples = model.generate(4, seed=0, **({"labels": np.arange(4)} if model.is_conditional else {}))
    assert samples.shape == (4, 28, 28, 1) and np.all(np.isfinite(samples))
    neg_elbo = -model.elbo(x, **labels).mean()
    # 1,000 of the 10,000 test images: within 3% of the full-test-set value.
    np.testing.assert_allclose(neg_elbo, metadata["metrics"]["neg_elbo_nats"], rtol=0.03)
