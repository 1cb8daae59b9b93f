# # Normalizing flows with artifex_keras
#
# A **normalizing flow** maps data `x` to a simple base variable `z = f(x)` through
# an invertible function and gets the exact log-likelihood by the change of variables:
# `log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|`. Training maximises it directly,
# sampling runs the inverse on Gaussian noise.
#
# The family:
#
# * `NeuralSplineFlow`: rational-quadratic spline transformers, autoregressive or coupling;
# * `MAF` / `IAF`: affine masked autoregressive flows (fast density / fast sampling);
# * `RealNVP`: affine couplings, checkerboard and channel masks, multi-scale for images;
# * `Glow`: ActNorm, invertible 1x1 convolutions and couplings, multi-scale;
# * each one conditional on class labels (`num_classes`) or context vectors (`context_dim`).
#
# Flows are built from the bijectors of `artifex_keras.bijectors`, each with an
# exact inverse. This guide fits a 2-D toy density, compares the learned density
# with the data, reads off the exact log-likelihood against the best possible one,
# and trains an image flow measured in bits per dimension.
# Set `ARTIFEX_GUIDE_QUICK=1` for a seconds-long run.

import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
from PIL import Image

import artifex_keras as ak
from artifex_keras.data import toy
from artifex_keras.images import save_image_grid
from artifex_keras.images import save_point_density
from artifex_keras.models.flows import Glow
from artifex_keras.models.flows import NeuralSplineFlow

QUICK = os.environ.get("ARTIFEX_GUIDE_QUICK") == "1"
EPOCHS = 1 if QUICK else 50
LIMIT = 2048 if QUICK else None
OUTPUT = tempfile.mkdtemp(prefix="flows_guide_")

# ## A toy density
#
# `ak.data.load` serves the 2-D toy densities (eight Gaussians, checkerboard, two
# moons, circles, spirals, pinwheel) as fixed seeded splits; `toy.entropy` is
# the entropy of the density where it is known: no model can have a lower
# expected negative log-likelihood.

x_train = ak.data.load("eight_gaussians", split="train", with_labels=False, limit=LIMIT)
x_test = ak.data.load("eight_gaussians", split="test", with_labels=False)
optimum = toy.entropy("eight_gaussians")
print("train", x_train.shape, "optimum NLL", round(optimum, 4))

# ## Fit a neural spline flow
#
# Four autoregressive spline transforms with MADE conditioners of [64, 64]
# (two small ones in the quick run).

hidden = (16,) if QUICK else (64, 64)
flow = NeuralSplineFlow(input_shape=(2,), num_transforms=2 if QUICK else 4, hidden_units=hidden, num_bins=8, seed=0)
flow.compile()  # Adam, learning rate 1e-3
flow.fit(x_train, epochs=EPOCHS, batch_size=512, verbose=0)

# ## Exact log-likelihood
#
# `log_prob` is exact for continuous data: the test NLL minus the entropy is the
# model's gap to the optimum (the `nsf_eight_gaussians` preset, 5000 steps,
# is about 0.015 nats above the true density on this test split).

nll = float(-flow.log_prob(x_test).mean())
print(f"test NLL {nll:.4f} nats, optimum {optimum:.4f}, gap {nll - optimum:+.4f}")

# `sample_and_log_prob` draws samples with their log-density in one pass; it
# agrees with `log_prob` of the same points (the inverse is exact).
samples, log_p = flow.sample_and_log_prob(1000, seed=0)
print("max |log_prob(samples) - log_p|", float(np.abs(flow.log_prob(samples) - log_p).max()))

# ## The learned density next to the data
#
# The density is evaluated on a grid and drawn beside a histogram of the data.

axis = np.linspace(-4.5, 4.5, 200, dtype="float32")
grid = np.stack(np.meshgrid(axis, axis[::-1]), axis=-1).reshape(-1, 2)
density = np.exp(flow.log_prob(grid)).reshape(200, 200)
print("density mass on the grid", float(density.sum() * (axis[1] - axis[0]) ** 2))
data_png = save_point_density(x_test, os.path.join(OUTPUT, "data.png"), extent=(-4.5, 4.5), pixels=200)
learned = Image.fromarray(np.uint8(255 * (1.0 - density / density.max())))
side_by_side = Image.new("L", (400, 200))
side_by_side.paste(Image.open(data_png).convert("L"), (0, 0))
side_by_side.paste(learned, (200, 0))
side_by_side.save(os.path.join(OUTPUT, "data_vs_flow.png"))
print("wrote", os.path.join(OUTPUT, "data_vs_flow.png"))

# ## A conditional flow
#
# With `num_classes`, every transform and the base see the label: the flow
# models `p(x | y)`. Given its square, a checkerboard point is uniform on a
# 2 x 2 square, so `toy.conditional_entropy` (log 4) is the optimum of the
# `conditional_nsf_checkerboard` preset; `generate(n, labels=...)` draws from
# one square.

board, squares = ak.data.load("checkerboard", split="test")
conditional = ak.from_preset("conditional_nsf_checkerboard")
conditional_nll = float(-conditional.log_prob(board, labels=squares).mean())
print(f"conditional NLL {conditional_nll:.4f}, optimum {toy.conditional_entropy('checkerboard'):.4f}")
print("square 5 samples, mean", conditional.generate(500, labels=5, seed=0).mean(axis=0))

# ## Save and load
#
# `save_to_preset` writes a folder (config, weights, metadata) that
# `ak.from_preset` reads back; the shipped toy presets record their test NLL
# next to the optimum.

with tempfile.TemporaryDirectory() as directory:
    flow.save_to_preset(directory, metadata={"description": "NSF from the guide"})
    restored = ak.from_preset(directory)
    np.testing.assert_allclose(restored.log_prob(x_test[:100]), flow.log_prob(x_test[:100]), rtol=1e-5, atol=1e-5)
preset = ak.from_preset("nsf_eight_gaussians")
print("preset NLL", float(-preset.log_prob(x_test).mean()), ak.preset_metadata("nsf_eight_gaussians")["reference"])

# ## An image flow and bits per dimension
#
# Image flows take pixels in [0, 1] (8-bit values over 255). They dequantise them
# with uniform noise, `(k + u) / 256`, and apply a logit before the flow, so
# `bits_per_dim` is the standard dequantisation bound on the discrete likelihood:
# `(-log p(y) + D log 256) / (D log 2)`. Glow's ActNorm layers initialise
# themselves from the first training data.

digits = ak.data.load("digits", split="train", with_labels=False, limit=128 if QUICK else None)
steps = 1 if QUICK else 4
glow = Glow(input_shape=(8, 8, 1), num_scales=1 if QUICK else 2, num_steps=steps, hidden_units=(32,), seed=0)
glow.compile()
glow.fit(digits, epochs=1 if QUICK else 30, batch_size=64, verbose=0)
test_digits = ak.data.load("digits", split="test", with_labels=False, limit=64 if QUICK else None)
print("Glow test bits/dim", float(glow.bits_per_dim(test_digits).mean()))
print("samples", glow.generate(8, seed=0).shape)

# With `dequantization="variational"` the noise is learned instead:
# `u ~ q(u | x)`, a logistic-normal per pixel whose mean and scale a small CNN
# reads from the image (Flow++). The flow then maximises
# `E_q[log p(y) - log q(u | x)]`, a bound on the discrete likelihood that
# tightens as `q` learns where the flow puts its mass within each bin.

variational = Glow(input_shape=(8, 8, 1), num_scales=1 if QUICK else 2, num_steps=steps, hidden_units=(32,),
                   dequantization="variational", seed=0)  # fmt: skip
variational.compile()
variational.fit(digits, epochs=1 if QUICK else 30, batch_size=64, verbose=0)
print("Glow with variational dequantisation, test bits/dim", float(variational.bits_per_dim(test_digits).mean()))

# The `realnvp_fashion_mnist` and `glow_fashion_mnist` presets are image flows
# trained on Fashion-MNIST; their metadata records the test bits/dim and the
# protocol it was measured with.

fashion_test = ak.data.load("fashion_mnist", split="test", with_labels=False, limit=256 if QUICK else 10000)
for name in ("realnvp_fashion_mnist", "glow_fashion_mnist"):
    image_flow = ak.from_preset(name)
    print(name, "test bits/dim", float(image_flow.bits_per_dim(fashion_test).mean()))
    save_image_grid(image_flow.generate(16, seed=0), os.path.join(OUTPUT, f"{name}.png"))
