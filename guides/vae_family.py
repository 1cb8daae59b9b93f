# # Variational autoencoders with artifex_keras
#
# A **variational autoencoder** (VAE) learns a latent-variable model
# `p(x) = ∫ p(x|z) p(z) dz` together with an encoder `q(z|x)` that approximates the
# posterior. Training maximises the evidence lower bound (ELBO)
# `E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))`, a lower bound on `log p(x)`.
#
# The family has four members:
#
# * `VAE`: Gaussian latent, MLP or convolutional networks, Bernoulli or Gaussian decoder;
# * `BetaVAE`: re-weights the KL term (Higgins) or targets a growing KL capacity (Burgess);
# * `ConditionalVAE`: encoder and decoder both see the class label;
# * `VQVAE`: a discrete latent grid with a learned autoregressive prior.
#
# This guide trains each on Fashion-MNIST, samples, evaluates held-out likelihood
# bounds, and saves and loads presets. It runs on any Keras backend:
# `KERAS_BACKEND=jax python guides/vae_family.py` (JAX is the fastest on CPU and GPU).
# Set `ARTIFEX_GUIDE_QUICK=1` for a seconds-long run on the 8x8 digits.

import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np

import artifex_keras as ak

QUICK = os.environ.get("ARTIFEX_GUIDE_QUICK") == "1"
DATA = "digits" if QUICK else "fashion_mnist"
EPOCHS = 1 if QUICK else 10
LIMIT = 256 if QUICK else None

# ## Data
#
# `ak.data.load` returns NumPy arrays, scaled to [0, 1] by default, shaped
# `(N, height, width, channels)`. Fashion-MNIST loads offline from Debian's
# `dataset-fashion-mnist` package when present, else from `keras.datasets`.

x_train, y_train = ak.data.load(DATA, split="train", limit=LIMIT)
x_test, y_test = ak.data.load(DATA, split="test", limit=LIMIT)
shape = x_train.shape[1:]
print("train", x_train.shape, "test", x_test.shape)

# ## A VAE
#
# Models take a frozen config, or its fields as keyword arguments. `compile()`
# without arguments picks Adam; the objective comes from the model.

vae = ak.models.VAE(input_shape=shape, latent_dim=16, hidden_dims=(256, 128) if not QUICK else (32,))
vae.compile()
vae.fit(x_train, epochs=EPOCHS, batch_size=128, verbose=2)

# ## Sample and evaluate
#
# `generate` returns NumPy. `elbo` is a per-example lower bound on `log p(x)`;
# `nll(x, num_samples=k)` is the importance-weighted bound of Burda et al., which
# is tighter (smaller) than `-elbo` and approaches `-log p(x)` as `k` grows.

samples = vae.generate(16, seed=0)
neg_elbo = -vae.elbo(x_test[:500]).mean()
iwae = vae.nll(x_test[:500], num_samples=10 if QUICK else 100).mean()
print(f"samples {samples.shape}; test -ELBO {neg_elbo:.2f} nats; IWAE NLL {iwae:.2f} nats")

# Reconstructions and latent interpolations:

reconstructions = vae.reconstruct(x_test[:8])
path = vae.interpolate(x_test[0], x_test[1], steps=8)
print("reconstructions", reconstructions.shape, "interpolation", path.shape)

# ## Beta-VAE with capacity annealing
#
# With `capacity_max > 0` the objective is `recon + gamma·|KL − C(t)|`, where the
# capacity `C(t)` grows linearly over `capacity_steps` (Burgess et al., 2018).

beta_vae = ak.models.BetaVAE(
    input_shape=shape, latent_dim=10, hidden_dims=(32,) if QUICK else (256, 128), capacity_max=20.0, capacity_steps=5000
)
beta_vae.compile()
history = beta_vae.fit(x_train, epochs=EPOCHS, batch_size=128, verbose=2)
print("final KL", history.history["kl"][-1], "capacity", history.history["capacity"][-1])

# ## Conditional VAE
#
# Train on `(x, y)` pairs, then ask for images of one class.

hidden = (32,) if QUICK else (256, 128)
cvae = ak.models.ConditionalVAE(input_shape=shape, num_classes=10, latent_dim=16, hidden_dims=hidden)
cvae.compile()
cvae.fit(x_train, y_train, epochs=EPOCHS, batch_size=128, verbose=2)
sneakers = cvae.generate(8, labels=np.full(8, 7), seed=0)
print("class-7 samples", sneakers.shape)
# The model says what it conditions on; tools that draw from any model use that.
print(cvae.condition_spec(), cvae.example_conditions(4))

# ## VQ-VAE
#
# A discrete latent: each position of the encoder's grid is snapped to its nearest
# codebook vector (straight-through gradients, commitment loss). A PixelCNN prior
# over the code grid is trained alongside, and `generate` samples codes from it.

vqvae = ak.models.VQVAE(
    input_shape=shape,
    hidden_dims=(16, 32) if QUICK else (32, 64),
    num_embeddings=16 if QUICK else 64,
    embedding_dim=8 if QUICK else 16,
    prior_filters=16 if QUICK else 64,
    prior_layers=2 if QUICK else 4,
)
vqvae.compile()
vqvae.fit(x_train, epochs=EPOCHS, batch_size=128, verbose=2)
print("codes", vqvae.encode(x_test[:4]).shape, "-ELBO", -vqvae.elbo(x_test[:500]).mean())

# The prior draws each code with a **sampler**: by default `RandomSampler()` (the
# prior's own distribution). Sharper or more conservative samples come from other
# token samplers, passed as objects, names or config dicts:

sharp = vqvae.generate(16, seed=0, sampler=ak.samplers.TopKSampler(k=4, temperature=0.8))
greedy = vqvae.generate(16, seed=0, sampler="greedy")          # the most likely code at each step
nucleus = vqvae.generate(16, seed=0, sampler={"class_name": "top_p", "config": {"p": 0.9}})
print("samples with top-k, greedy and top-p:", sharp.shape, greedy.shape, nucleus.shape)

# ## Saving and resuming
#
# A `.keras` file holds the weights, the optimizer's state and the random state, so
# training resumed from it continues exactly where it stopped (for long runs,
# `keras.callbacks.BackupAndRestore` does this after every epoch).

with tempfile.TemporaryDirectory() as directory:
    vae.save(os.path.join(directory, "vae.keras"))
    resumed = keras.saving.load_model(os.path.join(directory, "vae.keras"))
    resumed.fit(x_train, epochs=1, batch_size=128, verbose=2)

# ## Presets
#
# A preset is a folder with `config.json`, `metadata.json` and the weights.
# `save_to_preset` writes one; `from_preset` takes a folder or a shipped name
# (`ak.list_presets()`), and `ak.from_preset` picks the right class by itself.

with tempfile.TemporaryDirectory() as directory:
    vae.save_to_preset(directory, metadata={"description": "VAE from the guide"})
    restored = ak.from_preset(directory)
    np.testing.assert_allclose(restored.generate(4, seed=1), vae.generate(4, seed=1), atol=1e-6)
print("shipped presets:", ak.list_presets(family="vae"))
if "vae_fashion_mnist" in ak.list_presets():
    pretrained = ak.models.VAE.from_preset("vae_fashion_mnist")
    print("pretrained preset metadata:", ak.preset_metadata("vae_fashion_mnist").get("metrics"))
