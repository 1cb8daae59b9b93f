import numpy as np
import pytest

from artifex_keras.models import ConditionalVAE
from tests.checks import digits
from tests.checks import run_model_checks

TINY = dict(input_shape=(8, 8, 1), latent_dim=3, hidden_dims=(32,), num_classes=10, seed=0)


def test_conditional_vae_model_checks(tmp_path):
    run_model_checks(
        ConditionalVAE, TINY, digits(with_labels=True), generate_kwargs={"labels": np.arange(5)}, tmp_path=tmp_path
    )


def test_labels_change_the_samples():
    model = ConditionalVAE(**TINY)
    zeros = model.generate(4, labels=np.zeros(4, "int32"), seed=1)
    ones = model.generate(4, labels=np.ones(4, "int32"), seed=1)
    assert not np.allclose(zeros, ones)
    # A scalar label applies to every sample.
    np.testing.assert_allclose(model.generate(4, labels=0, seed=1), zeros, atol=1e-6)


def test_class_conditional_likelihood_methods():
    x, y = digits(32, with_labels=True)
    model = ConditionalVAE(**TINY)
    assert model.elbo(x, labels=y).shape == (32,)
    assert model.nll(x, num_samples=8, labels=y).shape == (32,)
    assert model.reconstruct(x, labels=y).shape == x.shape
    assert model.interpolate(x[0], x[1], steps=3, labels=y[0]).shape == (3, 8, 8, 1)


def test_labels_are_checked():
    x, y = digits(32, with_labels=True)
    model = ConditionalVAE(**TINY)
    with pytest.raises(ValueError, match="`y` \\(class labels\\) is required"):
        model.fit(x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`y` must lie in \[0, 9\], got values in \[0, 12\]"):
        model.fit(x, np.where(y == 1, 12, y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"ConditionalVAE.generate: `labels` is required .* \(ints in \[0, 9\]\)"):
        model.generate(2)
    with pytest.raises(ValueError, match=r"ConditionalVAE.encode: `labels` is required"):
        model.encode(x)
    with pytest.raises(ValueError, match="`labels` must hold 3 labels, got 2"):
        model.generate(3, labels=np.array([1, 2]))
