"""The shipped diffusion presets load, sample deterministically and still reach their recorded quality."""

import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.evaluation import evaluate_model
from artifex_keras.models import DDPM
from artifex_keras.models import ConsistencyModel
from artifex_keras.models import DiT
from artifex_keras.models import FlowMatching
from artifex_keras.models import LatentDiffusion
from artifex_keras.samplers import ConsistencySampler
from artifex_keras.samplers import DDIMSampler
from artifex_keras.samplers import ODEEulerSampler
from tests.checks.presets import check_shipped_preset


def check_held_out_loss_and_samples(model, bound):
    """The loss on 512 test images is below `bound`; DDIM samples are images in [0, 1] that repeat with their seed."""
    x = ak.data.load("fashion_mnist", split="test", with_labels=False, limit=512)
    loss = model.evaluate(x, batch_size=256, verbose=0, return_dict=True)["loss"]
    assert loss < bound, loss
    samples = model.generate(2, seed=0, sampler=DDIMSampler(steps=4))
    assert samples.shape == (2, 28, 28, 1) and 0.0 <= samples.min() and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, model.generate(2, seed=0, sampler=DDIMSampler(steps=4)))


def test_flow_matching_preset_loads_trained_and_samples_images():
    model = check_shipped_preset("flow_matching_fashion_mnist", FlowMatching)
    x = ak.data.load("fashion_mnist", split="test", with_labels=False, limit=512)
    # The flow-matching loss on these held-out images: 1.42 for the untrained network, 0.107 for the preset.
    loss = model.evaluate(x, batch_size=256, verbose=0, return_dict=True)["loss"]
    assert loss < 0.15, loss
    samples = model.generate(2, seed=0, sampler=ODEEulerSampler(steps=4))
    # The preset models pixels in [0, 1] as they are (rescale=False): its samples are not clipped.
    assert samples.shape == (2, 28, 28, 1) and -0.5 < samples.min() and samples.max() < 1.5
    np.testing.assert_array_equal(samples, model.generate(2, seed=0, sampler=ODEEulerSampler(steps=4)))


def test_ddpm_preset_denoises_held_out_images_and_samples_images():
    model = check_shipped_preset("ddpm_fashion_mnist", DDPM)
    assert model.default_sampler() == DDIMSampler(steps=50, eta=0.0)
    # The min-SNR-weighted epsilon loss on 512 held-out images: 0.021 for the preset (its last training epoch:
    # 0.0228), 1.2-1.6 for an untrained network.
    check_held_out_loss_and_samples(model, bound=0.03)


@pytest.mark.slow
def test_ddpm_preset_reproduces_its_recorded_evaluation():
    recorded = ak.preset_metadata("ddpm_fashion_mnist")["evaluation"]["metrics"]
    model = ak.from_preset("ddpm_fashion_mnist")
    result = ak.evaluate_model(model, data="fashion_mnist", num_samples=recorded["num_samples"], seed=recorded["seed"],
                               capabilities=["generate"])  # fmt: skip
    # Random streams differ between backends and devices: FD within 10% at this sample size.
    np.testing.assert_allclose(result["fd"], recorded["fd"], rtol=0.1)


def test_dit_preset_draws_the_class_it_is_asked_for():
    model = check_shipped_preset("dit_fashion_mnist", DiT)
    labels = np.repeat(np.arange(10), 4)
    samples = model.generate(len(labels), labels=labels, seed=0, sampler=DDIMSampler(steps=10))
    assert samples.shape == (40, 28, 28, 1) and 0.0 <= samples.min() and samples.max() <= 1.0
    short = DDIMSampler(steps=2)
    np.testing.assert_array_equal(model.generate(2, labels=[3, 7], seed=1, sampler=short),
                                  model.generate(2, labels=[3, 7], seed=1, sampler=short))  # fmt: skip
    # Our Fashion-MNIST classifier (91% on real test images) recognises the requested class in most samples:
    # measured 0.81 on 100 samples with 20 DDIM steps; an untrained DiT's samples score chance (0.1).
    classifier = ak.from_preset("fashion_mnist_classifier")
    accuracy = np.mean(np.argmax(classifier.predict_proba(samples), axis=-1) == labels)
    assert accuracy > 0.6, accuracy


@pytest.mark.slow
def test_dit_preset_reproduces_its_recorded_evaluation():
    recorded = ak.preset_metadata("dit_fashion_mnist")["evaluation"]["metrics"]
    model = ak.from_preset("dit_fashion_mnist")
    result = ak.evaluate_model(model, data="fashion_mnist", seed=recorded["seed"], cas=True,
                               capabilities=["generate"])  # fmt: skip
    # Random streams differ between backends and devices: FD within 5%, CAS within 2 points.
    np.testing.assert_allclose(result["fd"], recorded["fd"], rtol=0.05)
    np.testing.assert_allclose(result["cas"], recorded["cas"], atol=0.02)


def test_latent_diffusion_preset_denoises_held_out_latents_and_decodes_images():
    model = check_shipped_preset("latent_diffusion_fashion_mnist", LatentDiffusion)
    assert model.autoencoder.latent_shape == (7, 7, 4)
    # The epsilon loss on the latents of 512 held-out images: about 0.13 for the preset (its last training
    # epoch: 0.126), 1.56 for an untrained network.
    check_held_out_loss_and_samples(model, bound=0.2)


def test_consistency_preset_samples_in_four_evaluations_without_its_teacher():
    model = check_shipped_preset("consistency_fashion_mnist", ConsistencyModel)
    assert model.teacher is None and model.config.parameterization == "variance_preserving"
    assert model.default_sampler() == ConsistencySampler(sigmas=(10.0, 2.0, 0.5))
    samples = model.generate(2, seed=0)
    assert samples.shape == (2, 28, 28, 1) and 0.0 <= samples.min() and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, model.generate(2, seed=0))
    trained = evaluate_model(model, data="fashion_mnist", limit=500, capabilities=["generate"])
    recorded = ak.preset_metadata("consistency_fashion_mnist")["evaluation"]["metrics"]["fd"]
    # Measured: 2.63 on 500 samples, with 2.79 recorded on 10,000. The start of the distillation (the teacher's
    # weights, `ConsistencyModel.from_teacher`) scores 9.84 with the same sampler.
    assert trained["fd"] < 1.5 * recorded, trained["fd"]
