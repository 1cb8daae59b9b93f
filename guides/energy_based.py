# # Energy-based models with artifex_keras
#
# An **energy-based model** (EBM) defines a density through an energy network:
# `p(x) = exp(-E(x)) / Z`, where the normaliser `Z` is never computed. Samples come
# from Markov chains that follow the energy's gradient (Langevin dynamics), and
# training lowers the energy of data while raising the energy of the chains' samples
# (contrastive divergence). Chains persist across steps in a **replay buffer** that
# is part of the model's state: it is saved with the model and restored with it.
#
# This guide fits an EBM to a 2-D mixture of eight Gaussians, draws samples with three
# samplers (unadjusted Langevin, MALA, HMC), compares them with held-out data, and saves
# and reloads the model. `KERAS_BACKEND=jax python guides/energy_based.py`; set
# `ARTIFEX_GUIDE_QUICK=1` for a seconds-long run.

import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np

import artifex_keras as ak

QUICK = os.environ.get("ARTIFEX_GUIDE_QUICK") == "1"
EPOCHS = 1 if QUICK else 20
LIMIT = 1024 if QUICK else None

# ## Data
#
# The toy densities of `ak.data` are seeded splits of 2-D points; their entropy,
# where known, is the best negative log-likelihood any model can reach.

x_train = ak.data.load("eight_gaussians", split="train", with_labels=False, limit=LIMIT)
x_test = ak.data.load("eight_gaussians", split="test", with_labels=False, limit=LIMIT)
print("train", x_train.shape, "entropy", ak.data.entropy("eight_gaussians"), "nats")

# ## Train
#
# Each training step restarts 5% of the chains from uniform noise in `value_range`,
# continues the rest from the buffer for `mcmc_steps` Langevin steps, and writes
# them back. The energies of data and samples are logged: their gap is what the
# model learns, and the regulariser keeps both near zero.

ebm = ak.models.EBM(
    input_shape=(2,),
    hidden_dims=(16, 16) if QUICK else (128, 128),
    mcmc_steps=5 if QUICK else 40,
    mcmc_step_size=0.01,
    buffer_size=1024 if QUICK else 8192,
    generate_steps=20 if QUICK else 200,
    seed=0,
)
ebm.compile(optimizer=keras.optimizers.Adam(1e-3))
ebm.fit(x_train, epochs=EPOCHS, batch_size=256, verbose=2)

# ## Sample with three samplers
#
# `generate` starts chains from noise (or from the buffer with
# `generate_from="buffer"`) and runs any `MCMCSampler`. Metropolis-adjusted
# samplers (MALA, HMC) correct the discretisation error of Langevin dynamics and
# report how often they accept; their acceptance falls as the step size grows.

steps = 20 if QUICK else 500
chosen = {
    "langevin": ak.samplers.LangevinSampler(steps=steps, step_size=0.01),
    "mala": ak.samplers.MALASampler(steps=steps, step_size=0.01),
    "hmc": ak.samplers.HMCSampler(steps=steps // 5, step_size=0.05, leapfrog_steps=5),
}
start = np.random.default_rng(0).uniform(-4, 4, size=(len(x_test), 2)).astype("float32")
for name, sampler in chosen.items():
    samples, acceptance = ebm.run_chains(start, sampler=sampler, seed=0)
    distance = ak.metrics.energy_distance(samples, x_test)
    print(f"{name:9s} acceptance {acceptance:.3f}  energy distance to test data {distance:.4f}")

# ## Evaluate
#
# `evaluate_model` draws samples and measures energy distance, MMD and sliced
# Wasserstein distance to the test split, next to the same distances between the
# train and test splits (the floor: what a perfect model would get).

metrics = ak.evaluate_model(ebm, data="eight_gaussians", num_samples=512 if QUICK else 5000)
print({k: round(metrics[k], 4) for k in ("energy_distance", "mmd", "sliced_wasserstein")}, "floor", metrics["floor"])

# ## Save and load
#
# `.keras` files keep the energy network, the replay buffer and the optimizer, so
# training resumes exactly where it stopped. The shipped preset was trained with
# these settings for 20 epochs (`ak.preset_metadata("ebm_eight_gaussians")` holds the
# command and its sample distances).

pretrained = ak.from_preset("ebm_eight_gaussians")
print("preset energy of test data:", pretrained.energy(x_test[:5]))

# `ebm_fashion_mnist` models images: a convolutional energy trained with 20
# Langevin steps per batch from a replay buffer of 1,024 images; `generate`
# continues chains from that buffer (`generate_from="buffer"`).

image_ebm = ak.from_preset("ebm_fashion_mnist")
clothes = ak.data.load("fashion_mnist", split="test", with_labels=False, limit=4)
noise = np.random.default_rng(0).uniform(0, 1, clothes.shape).astype("float32")
print("energy of test images", image_ebm.energy(clothes).round(3), "of noise", image_ebm.energy(noise).round(3))
if not QUICK:
    images = image_ebm.generate(16, seed=0)
    print("EBM image samples", images.shape, float(images.min()), float(images.max()))

with tempfile.TemporaryDirectory() as directory:
    path = os.path.join(directory, "ebm.keras")
    ebm.save(path)
    restored = keras.saving.load_model(path)
    buffers = [keras.ops.convert_to_numpy(model.replay_buffer) for model in (ebm, restored)]
    print("buffer restored:", np.array_equal(*buffers))
