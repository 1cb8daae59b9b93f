import math

import keras
import numpy as np
import pytest

from artifex_keras.bijectors import ActNorm
from artifex_keras.data import toy
from artifex_keras.models.flows import IAF
from artifex_keras.models.flows import MAF
from artifex_keras.models.flows import Glow
from artifex_keras.models.flows import NeuralSplineFlow
from artifex_keras.models.flows import RealNVP
from tests.bijectors.cases import perturb
from tests.checks import digits
from tests.checks import run_model_checks

VECTOR = dict(input_shape=(2,), num_transforms=2, hidden_units=(8,), seed=0)
IMAGE = dict(input_shape=(8, 8, 1), hidden_units=(4,), seed=0)
CASES = {
    "maf": (MAF, VECTOR),
    "iaf_random": (IAF, {**VECTOR, "ordering": "random"}),
    "nsf_autoregressive": (NeuralSplineFlow, {**VECTOR, "num_bins": 4}),
    "nsf_coupling": (NeuralSplineFlow, {**VECTOR, "variant": "coupling", "num_bins": 4}),
    "realnvp_vector": (RealNVP, VECTOR),
    "realnvp_image": (RealNVP, {**IMAGE, "num_transforms": 2, "num_scales": 2}),
    "glow": (Glow, {**IMAGE, "num_scales": 2, "num_steps": 1}),
    "maf_labels": (MAF, {**VECTOR, "num_classes": 8}),
    "nsf_context": (NeuralSplineFlow, {**VECTOR, "context_dim": 3, "num_bins": 4}),
}
DEFAULT = ("maf_labels",)


def toy_data(name, count=256):
    x, labels = toy.sample("eight_gaussians", count, seed=0, with_labels=True)
    kwargs = CASES[name][1]
    if kwargs.get("num_classes"):
        return (x, labels), {"labels": np.arange(5) % 8}
    if kwargs.get("context_dim"):
        context = np.random.default_rng(0).standard_normal((count, 3)).astype("float32")
        return (x, context), {"condition": context[:5]}
    return x, None


@pytest.mark.parametrize(
    "name", [name if name in DEFAULT else pytest.param(name, marks=pytest.mark.slow) for name in CASES]
)
def test_flow_model_checks(name, tmp_path):
    cls, kwargs = CASES[name]
    if len(kwargs["input_shape"]) == 3:
        run_model_checks(cls, kwargs, digits(128), tmp_path=tmp_path, value_range=(0.0, 1.0), epochs=3)
    else:
        data, generate_kwargs = toy_data(name)
        run_model_checks(cls, kwargs, data, generate_kwargs=generate_kwargs, tmp_path=tmp_path, epochs=3)


def grid_mass(model, half_width=10.0, points=401, **conditions):
    axis = np.linspace(-half_width, half_width, points, dtype="float32")
    xx, yy = np.meshgrid(axis, axis)
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
    conditions = {key: np.repeat(value[None], len(grid), axis=0) for key, value in conditions.items()}
    density = np.exp(model.log_prob(grid, batch_size=len(grid), **conditions).astype("float64"))
    return density.sum() * (axis[1] - axis[0]) ** 2


@pytest.mark.parametrize("name", ["nsf_autoregressive", "realnvp_vector"])
def test_a_2d_density_integrates_to_one(name):
    cls, kwargs = CASES[name]
    model = perturb(cls(**kwargs), scale=0.15, seed=1)
    assert abs(grid_mass(model) - 1.0) < 1e-2


def test_a_conditional_density_integrates_to_one_for_each_label():
    model = perturb(MAF(**CASES["maf_labels"][1]), scale=0.3, seed=2)
    for label in (0, 5):
        assert abs(grid_mass(model, labels=np.int32(label)) - 1.0) < 1e-2


def test_untrained_flows_are_the_standard_normal():
    # Every conditioner's last layer starts at zero: the flow is the identity, log p = log N(x; 0, I).
    x = toy.two_moons(16, seed=0)
    expected = -0.5 * (x.astype("float64") ** 2).sum(1) - math.log(2 * math.pi)
    for name in ("maf", "nsf_autoregressive", "realnvp_vector"):
        cls, kwargs = CASES[name]
        np.testing.assert_allclose(cls(**kwargs).log_prob(x), expected, atol=1e-5)


@pytest.mark.parametrize("name", ["iaf_random", "maf_labels"])
def test_sample_and_log_prob_agrees_with_log_prob(name):
    cls, kwargs = CASES[name]
    model = perturb(cls(**kwargs), scale=0.3)
    conditions = {"labels": np.arange(64) % 8} if kwargs.get("num_classes") else {}
    samples, log_p = model.sample_and_log_prob(64, seed=3, **conditions)
    assert samples.shape == (64, 2) and np.all(np.isfinite(log_p))
    np.testing.assert_allclose(model.log_prob(samples, **conditions), log_p, atol=2e-5, rtol=0)


@pytest.mark.slow
def test_glow_fit_initialises_every_actnorm():
    model = Glow(**CASES["glow"][1])
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, ActNorm)]
    assert len(norms) == 2 and model.needs_initialization()
    model.compile()
    model.fit(digits(128), epochs=1, batch_size=64, verbose=0)
    assert not model.needs_initialization() and all(norm.is_initialized for norm in norms)


def test_glow_initialises_actnorm_to_zero_mean_unit_variance():
    x = digits(128)
    model = Glow(**CASES["glow"][1])
    assert model.needs_initialization()
    model.initialize_from_data(x)
    assert not model.needs_initialization()
    # The first ActNorm sees the squeezed logits of the dequantised batch (midpoint noise).
    head = model.transform.bijectors
    values, _ = model.continuous(keras.ops.convert_to_tensor(x), noise=0.5)
    for bijector in (head[0], head[1].bijectors[0]):  # Logit, Squeeze
        values, _ = bijector.forward(values)
    normed = head[1].bijectors[1]
    assert isinstance(normed, ActNorm)
    out = keras.ops.convert_to_numpy(normed.forward(values)[0]).reshape(-1, 4)
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1.0, atol=1e-4)


def test_bits_per_dim_is_the_dequantisation_bound():
    model = Glow(**CASES["glow"][1])
    x = digits(8)
    nats = -model.log_prob(x, seed=4)
    np.testing.assert_allclose(model.bits_per_dim(x, seed=4), (nats + 64 * math.log(256)) / (64 * math.log(2)),
                               rtol=1e-6)  # fmt: skip


def test_clear_errors():
    maf = MAF(**VECTOR)
    with pytest.raises(ValueError, match=r"MAF.log_prob: `x` must have shape \(batch, 2\), got shape \(4, 3\)"):
        maf.log_prob(np.zeros((4, 3), "float32"))
    with pytest.raises(ValueError, match=r"MAF.fit: `x` must be finite, got 1 NaN or infinite value"):
        maf.fit(np.array([[0.0, np.nan], [1.0, 2.0]], "float32"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="MAF.bits_per_dim: bits/dim needs an image flow"):
        maf.bits_per_dim(np.zeros((4, 2), "float32"))
    conditional = MAF(**CASES["maf_labels"][1])
    with pytest.raises(ValueError, match=r"MAF.log_prob: `labels` is required by the conditional MAF"):
        conditional.log_prob(np.zeros((4, 2), "float32"))
    with pytest.raises(ValueError, match=r"MAF.fit: `y` \(class labels\) is required for a conditional model"):
        conditional.fit(np.zeros((4, 2), "float32"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"MAF.generate: `labels` is required"):
        conditional.generate(2)
    context = NeuralSplineFlow(**CASES["nsf_context"][1])
    with pytest.raises(ValueError, match=r"`condition` is required by the conditional NeuralSplineFlow"):
        context.sample_and_log_prob(3)
    glow = Glow(**CASES["glow"][1])
    with pytest.raises(ValueError, match=r"Glow.log_prob: `x` must lie in \[0.0, 1.0\], got values in \[0, 2\]"):
        glow.log_prob(np.full((2, 8, 8, 1), 2.0, "float32") * np.arange(2)[:, None, None, None])
    with pytest.raises(ValueError, match=r"GlowConfig: `input_shape` must be an image shape"):
        Glow(input_shape=(4,))
    with pytest.raises(ValueError, match=r"GlowConfig: `input_shape` must be height and width divisible by 2\^num"):
        Glow(input_shape=(6, 6, 1), num_scales=2)
    with pytest.raises(ValueError, match="MAFConfig: `context_dim` must be 0 when `num_classes` is set"):
        MAF(num_classes=3, context_dim=2)
