# # Diffusion models with artifex_keras
#
# A **diffusion model** learns to undo a fixed noising process. The forward process
# `q(x_t | x_0) = N(alpha_t x_0, sigma_t^2 I)` blends an image with Gaussian noise along
# a **noise schedule** (`alpha_t^2 + sigma_t^2 = 1`, from almost clean at `t = 0` to
# almost pure noise at `t = T - 1`). A network (a UNet) learns to predict the noise
# (or the clean image, or `v = alpha_t eps - sigma_t x_0`) from `x_t` and `t`; a
# **sampler** then walks from pure noise back to an image.
#
# As in diffusers, the model owns the network and its training schedule; the sampler
# is a separate, swappable object: DDPM ancestral sampling, DDIM, DPM-Solver++(2M),
# Euler and Heun (EDM) all run on any model. Each sampling loop is one compiled call.
# Flow matching (rectified flow) shares the networks and the guidance, and samples with
# ODE solvers of its own; latent diffusion runs DDPM on a frozen autoencoder's latents.
#
# Run it with any Keras backend: `KERAS_BACKEND=jax python guides/diffusion.py`.
# `ARTIFEX_GUIDE_QUICK=1` makes it a seconds-long run on the 8x8 digits.

import os
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np

import artifex_keras as ak

QUICK = os.environ.get("ARTIFEX_GUIDE_QUICK") == "1"
DATA = "digits" if QUICK else "fashion_mnist"
LIMIT = 256 if QUICK else None
EPOCHS = 1 if QUICK else 20

x_train, y_train = ak.data.load(DATA, split="train", limit=LIMIT)
shape = x_train.shape[1:]
print("train", x_train.shape)

# ## Schedules and objectives
#
# Schedules are computed in float64 and shared by training and every sampler.
# `alphas_cumprod` is `alpha_t^2`; the signal-to-noise ratio `alpha_t^2 / sigma_t^2`
# drives the loss weightings.

for name in ("linear", "cosine", "sigmoid"):
    schedule = ak.samplers.schedules.get(name)
    print(f"{name:8s} alpha_bar at t = 0, 500, 999:", np.round(schedule.alphas_cumprod[[0, 500, 999]], 5))

# ## Train a DDPM
#
# The config chooses the UNet (channels per level, residual blocks, attention levels),
# the schedule, the prediction target (`"epsilon"`, `"x0"`, `"v"`), the loss weighting
# (`"uniform"`, `"snr"`, `"min_snr"`, `"edm"`) and how timesteps are drawn (`"uniform"`
# or `"logit_normal"`). A moving average of the weights (`ema_decay`) is updated after
# every step and is what `generate` samples with; it is saved with the model.
# Images in [0, 1] are mapped to [-1, 1] for the diffusion and back.

if QUICK:
    unet = dict(channels=(16,), num_res_blocks=1, attention_levels=(0,), head_dim=8, num_groups=8)
else:
    unet = dict(channels=(32, 64, 64), num_res_blocks=2, attention_levels=(2,), head_dim=32, num_groups=16)
ddpm = ak.models.DDPM(
    input_shape=shape,
    **unet,
    schedule="cosine",
    num_timesteps=100 if QUICK else 1000,
    prediction="v",
    loss_weighting="min_snr",
    ema_decay=0.9 if QUICK else 0.999,
)
ddpm.compile(optimizer=keras.optimizers.Adam(2e-4 if not QUICK else 1e-3))
ddpm.fit(x_train, epochs=EPOCHS, batch_size=128, verbose=2)

# ## Sample with three samplers side by side
#
# The same model, three solvers: DDIM (deterministic with `eta=0`), DPM-Solver++(2M)
# (second order, good in 10-25 steps) and Heun on Karras' sigmas (EDM; two network
# evaluations per step). The first call of a sampler compiles its loop.

steps = 5 if QUICK else 25
samplers = {
    "ddim": ak.samplers.DDIMSampler(steps=steps, eta=0.0),
    "dpm_solver": ak.samplers.DPMSolverSampler(steps=steps),
    "heun": ak.samplers.HeunSampler(steps=max(2, steps // 2)),
}
grids = {}
for name, sampler in samplers.items():
    if not QUICK:
        ddpm.generate(64, seed=1, sampler=sampler)  # the first call compiles the loop
    start = time.perf_counter()
    grids[name] = ddpm.generate(8 if QUICK else 64, seed=0, sampler=sampler)
    print(f"{name:10s} {time.perf_counter() - start:.2f} s for {len(grids[name])} samples")

# A sampler can also be a name or a config dict (here DDPM's ancestral sampler), and `return_trajectory=True` returns
# every intermediate state (`(steps + 1, n, *shape)`), e.g. to plot the denoising.

ancestral = {"class_name": "ddpm", "config": {"steps": 10 if QUICK else 1000}}
samples, trajectory = ddpm.generate(4, seed=1, sampler=ancestral, return_trajectory=True)
print("trajectory", trajectory.shape)

# ## Clipping the x0 predictions, and the shipped DDPM
#
# An epsilon-predicting network implies `x0 = (x_t - sigma eps) / alpha`. At high noise
# `alpha` is small, and a briefly trained network's errors become saturated pixels.
# `clip_x0=1.0` (on any diffusion sampler, or the model's `clip_x0` field for its default
# sampler) clips every x0 prediction to [-1, 1], the range the model sees images in, and
# goes on with the noise that agrees with the clipped value. A well-trained model needs
# none: the shipped `ddpm_fashion_mnist` (epsilon objective, min-SNR weighting, 7 epochs
# on a 2-core CPU) scored FD 2.61 unclipped and 2.81 clipped (DDIM-50, 1,000 samples),
# so it samples unclipped.

clipped_ddim = ak.samplers.DDIMSampler(steps=steps, clip_x0=1.0)
print("clipped DDIM samples", ddpm.generate(8, seed=0, sampler=clipped_ddim).shape)
pretrained_ddpm = ak.from_preset("ddpm_fashion_mnist")
recorded = ak.preset_metadata("ddpm_fashion_mnist")["evaluation"]["metrics"]
print(f"ddpm_fashion_mnist: FD {recorded['fd']:.2f} with {recorded['sampler']['class_name']}")
print("shipped DDPM samples", pretrained_ddpm.generate(4, seed=0, sampler=clipped_ddim).shape)

# ## Class conditioning and classifier-free guidance
#
# With `num_classes`, labels are embedded and added to the timestep embedding; with
# probability `class_dropout` a training label is replaced by a "no label" class, so
# the same network also learns the unconditional model. `guidance_scale=w` samples
# with `eps_u + w (eps_c - eps_u)`: 1 is the conditional model, larger values trade
# diversity for class fidelity.

conditional = ak.models.DDPM(input_shape=shape, **unet, num_classes=10, num_timesteps=100 if QUICK else 1000)
conditional.compile(optimizer=keras.optimizers.Adam(2e-4 if not QUICK else 1e-3))
conditional.fit(x_train, y_train, epochs=EPOCHS, batch_size=128, verbose=2)
labels = np.arange(10)
for scale in (1.0, 3.0):
    images = conditional.generate(10, seed=0, labels=labels, guidance_scale=scale, sampler=samplers["ddim"])
    print(f"guidance {scale}: samples {images.shape}, mean pixel {images.mean():.3f}")

# ## Flow matching and rectified flow
#
# `FlowMatching` learns a velocity field `v(x, t)` that carries noise (`t = 0`) to data
# (`t = 1`): it regresses `v` at `x_t = (1 - t) x0 + t x1` on `x1 - x0` for noise `x0` and
# data `x1`. With `coupling="minibatch_ot"` the noise and data of each batch are paired by
# an optimal assignment (OT-CFM), which straightens the paths. Vectors get an MLP (here the
# 2-D eight Gaussians), images the same UNet as DDPM. Any ODE sampler integrates it: Euler,
# Heun, midpoint or RK4.

points, _ = ak.data.load("eight_gaussians", split="train", limit=1024 if QUICK else None)
flow = ak.models.FlowMatching(
    input_shape=(2,), hidden_dims=(64, 64) if QUICK else (256, 256, 256), coupling="minibatch_ot", ema_decay=0.99
)
flow.compile(optimizer=keras.optimizers.Adam(3e-3 if QUICK else 1e-3))
flow.fit(points, epochs=2 if QUICK else 20, batch_size=128 if QUICK else 256, verbose=2)
reference = ak.data.load("eight_gaussians", split="test", limit=1024)[0]
for sampler in (ak.samplers.ODEEulerSampler(steps=20), ak.samplers.ODERK4Sampler(steps=5)):
    drawn = flow.generate(1024, seed=0, sampler=sampler)
    print(f"{type(sampler).__name__:16s} energy distance {ak.metrics.energy_distance(drawn, reference):.4f}")

# Rectified flow's reflow: integrate the current model accurately to get fixed (noise, sample)
# pairs, and keep training on them. The 2-rectified flow's paths are straighter, so a
# single Euler step gets much closer to its many-step samples.

pairs = flow.reflow_pairs(1024 if QUICK else 50000, seed=1, sampler=ak.samplers.ODERK4Sampler(steps=10))
flow.fit(pairs, epochs=2 if QUICK else 20, batch_size=128 if QUICK else 256, verbose=2)
one_step = flow.generate(1024, seed=0, sampler=ak.samplers.ODEEulerSampler(steps=1))
print(f"2-rectified flow, one Euler step: energy distance {ak.metrics.energy_distance(one_step, reference):.4f}")

# ## Score SDEs: predictor-corrector sampling and likelihoods
#
# `ScoreSDE` (Song et al., 2021) views diffusion as a stochastic differential equation
# `dx = f(x, t) dt + g(t) dw` on `t` in `[eps, 1]`: `sde="vp"` (continuous DDPM), `"ve"`
# (noise levels from `sigma_min` to `sigma_max`) or `"subvp"`. The UNet learns the score
# `grad log p_t(x)` by denoising score matching. Samplers solve the reverse-time SDE:
# `PredictorCorrectorSampler` (a reverse-diffusion or Euler-Maruyama step, then Langevin
# corrector steps sized by `snr`), `EulerMaruyamaSampler`, or the deterministic
# `ProbabilityFlowSampler`, whose ODE also gives exact likelihoods: `bits_per_dim`
# integrates it with Hutchinson's trace estimator (`num_probes` random probes).

score_sde = ak.models.ScoreSDE(input_shape=shape, **unet, sde="subvp", ema_decay=0.9 if QUICK else 0.999)
score_sde.compile(optimizer=keras.optimizers.Adam(2e-4 if not QUICK else 1e-3))
score_sde.fit(x_train[:128] if QUICK else x_train, epochs=EPOCHS, batch_size=128, verbose=2)
pc = ak.samplers.PredictorCorrectorSampler(steps=5 if QUICK else 1000, corrector_steps=1, snr=0.16)
images = score_sde.generate(8 if QUICK else 64, seed=0, sampler=pc)
print(f"ScoreSDE, predictor-corrector: samples {images.shape}, mean pixel {images.mean():.3f}")
flow_ode = ak.samplers.ProbabilityFlowSampler(steps=2 if QUICK else 100, solver="rk4")
bits = score_sde.bits_per_dim(x_train[:8] if QUICK else x_train[:1000], sampler=flow_ode, num_probes=1)
print(f"ScoreSDE bits/dim (probability-flow ODE, Hutchinson): {bits.mean():.3f}")

# ## A Transformer denoiser: DiT
#
# `DiT` trains and samples exactly like `DDPM` (the same schedules, targets, weightings,
# moving average, samplers and guidance); only the network differs. The image is cut
# into `patch_size x patch_size` patches, each becomes a token, and `depth` Transformer
# blocks process them, conditioned on the timestep and class through adaptive layer
# norms (adaLN-Zero: the shifts, scales and residual gates are regressed from the
# conditioning and start at zero, so the network starts as exactly zero). Height and
# width must divide by `patch_size`, `hidden_size` by `num_heads`. The paper trains with
# AdamW, no weight decay and a constant learning rate.

if QUICK:
    transformer = dict(patch_size=2, hidden_size=32, depth=2, num_heads=4)
else:
    transformer = dict(patch_size=4, hidden_size=256, depth=8, num_heads=4)
dit = ak.models.DiT(
    input_shape=shape,
    **transformer,
    num_classes=10,
    class_dropout=0.1,
    num_timesteps=100 if QUICK else 1000,
    ema_decay=0.9 if QUICK else 0.999,
)
print("DiT weights:", sum(int(np.prod(v.shape)) for v in dit.denoiser.trainable_weights))
dit.compile(optimizer=keras.optimizers.AdamW(1e-3 if QUICK else 3e-4, weight_decay=0.0))
dit.fit(x_train, y_train, epochs=EPOCHS, batch_size=128, verbose=2)
for scale in (1.0, 4.0):
    images = dit.generate(10, seed=0, labels=np.arange(10), guidance_scale=scale, sampler=samplers["ddim"])
    print(f"DiT, guidance {scale}: samples {images.shape}, mean pixel {images.mean():.3f}")

# The shipped `dit_fashion_mnist` is a class-conditional DiT (patch 2, width 128,
# 4 blocks) trained on all of Fashion-MNIST with guidance 1.5 as its default. Its
# metadata records FD, precision/recall and the Classification Accuracy Score: a
# classifier trained on its samples, scored on the real test images.

shipped = ak.from_preset("dit_fashion_mnist")
recorded = ak.preset_metadata("dit_fashion_mnist")["evaluation"]["metrics"]
print(f"dit_fashion_mnist: FD {recorded['fd']:.2f}, CAS {recorded['cas']:.3f} (real: {recorded['floor']['cas']:.3f})")
boots = shipped.generate(4, seed=0, labels=[9, 9, 9, 9], sampler=ak.samplers.DDIMSampler(steps=5 if QUICK else 50))
print("four ankle boots from the shipped DiT:", boots.shape)

# ## Latent diffusion: diffusing an autoencoder's latents
#
# `LatentDiffusion` (Rombach et al., 2022) trains DDPM's UNet on the latents of a frozen
# autoencoder instead of on pixels: a smaller grid per step, and the decoder turns sampled
# latents back into images. The autoencoder is a VAE-family preset holding a `VAE` with a
# spatial latent (`architecture="conv"` and `latent_channels`: maps at `1 / 2 ** len(hidden_dims)`
# of the image's height and width). Training encodes each batch with the posterior mean and
# multiplies it by `latent_scale`; None sets it to `1 / std` of the first batch's latents (saved
# with the model), so the diffused latents have about unit variance, as the schedule assumes.
# The autoencoder is not trained further. `generate` samples latents with any diffusion sampler
# and decodes them; `return_trajectory=True` returns the trajectory in latent space.

if QUICK:
    spatial = dict(hidden_dims=(16,), latent_channels=2)  # 8x8 digits -> 4x4x2 latents
    latent_unet = unet
else:
    spatial = dict(hidden_dims=(64,), latent_channels=4)  # 28x28 images -> 14x14x4 latents
    latent_unet = dict(channels=(64, 128), num_res_blocks=2, attention_levels=(1,), head_dim=32, num_groups=16)
autoencoder = ak.models.VAE(input_shape=shape, architecture="conv", **spatial)
autoencoder.compile(optimizer=keras.optimizers.Adam(1e-3))
autoencoder.fit(x_train, epochs=EPOCHS, batch_size=128, verbose=2)
# The latent model names its autoencoder by preset: its `.keras` files and presets load it from there.
with tempfile.TemporaryDirectory() as autoencoder_preset:
    autoencoder.save_to_preset(autoencoder_preset)
    latent_model = ak.models.LatentDiffusion(
        autoencoder=autoencoder_preset,
        **latent_unet,
        num_classes=10,
        num_timesteps=100 if QUICK else 1000,
        ema_decay=0.9 if QUICK else 0.999,
    )
    latent_model.compile(optimizer=keras.optimizers.Adam(1e-3 if QUICK else 2e-4))
    latent_model.fit(x_train, y_train, epochs=EPOCHS, batch_size=128, verbose=2)
    scale = float(keras.ops.convert_to_numpy(latent_model.latent_scale))
    print(f"latents {latent_model.diffusion_shape}, estimated latent_scale {scale:.3f}")
    images, latents = latent_model.generate(
        10, seed=0, labels=np.arange(10), guidance_scale=3.0, sampler=samplers["ddim"], return_trajectory=True
    )
    print(f"LatentDiffusion: samples {images.shape}, latent trajectory {latents.shape}")

# ## Consistency models: one-step generation
#
# A `ConsistencyModel` (Song et al., 2023) learns `f(x, sigma)`, which maps any point of a
# probability-flow ODE trajectory straight to its clean end, with `f(x, sigma_min) = x`
# built into the EDM scalings. `mode="training"` learns it from data alone (the two
# points `x + sigma_{n+1} z` and `x + sigma_n z` share `z`; the target comes from a moving
# average of the weights, the "target network"); `mode="distillation"` steps down the ODE
# with a trained `DDPM` teacher (Heun or Euler), which is frozen and not saved with the
# student. `generate` takes one network evaluation by default; `steps=2` (or `sigmas=`)
# re-noises and denoises again, trading speed for quality.
#
# `ConsistencyModel.from_teacher(ddpm)` builds a student with the teacher's UNet that
# reads its network the way the teacher does (`parameterization="variance_preserving"`)
# and starts from the teacher's weights: from the first step it is the teacher's
# one-step denoiser, and distillation only has to sharpen it. A student from random
# weights must first learn to denoise, one noise level at a time from `sigma_min` up,
# which takes far longer.

consistency = ak.models.ConsistencyModel.from_teacher(ddpm, num_scales=18, ema_decay=0.9 if QUICK else 0.999)
consistency.compile(optimizer=keras.optimizers.Adam(1e-3 if QUICK else 2e-4))
consistency.fit(x_train, epochs=EPOCHS, batch_size=128, verbose=2)
for steps in (1, 2):
    images = consistency.generate(8 if QUICK else 64, seed=0, steps=steps)
    print(f"consistency model, {steps} step(s): samples {images.shape}, mean pixel {images.mean():.3f}")

# The shipped `consistency_fashion_mnist` was distilled this way from `ddpm_fashion_mnist`
# (one epoch on a 2-core CPU). Its default sampler re-noises to the levels in its
# config's `sampling_sigmas`, (10, 2, 0.5): four network evaluations, FD 2.79 on
# 10,000 samples, against 2.58 for its teacher with 50 DDIM steps and 9.35 for the
# teacher with the same four evaluations of DDIM. Three evaluations (3, 0.7) give 3.54,
# two (1.5) 6.68; one is still blurry (26.4): one-step generation needs a far longer
# distillation than a CPU epoch. Sampling time grows with the evaluations alone.

shipped_consistency = ak.from_preset("consistency_fashion_mnist")
recorded = ak.preset_metadata("consistency_fashion_mnist")["evaluation"]["metrics"]
print(f"consistency_fashion_mnist: FD {recorded['fd']:.2f} with {recorded['sampler']['config']}")
for sampler in (ak.samplers.ConsistencySampler(steps=1), ak.samplers.ConsistencySampler(sigmas=[1.5]), None):
    shipped_consistency.generate(4, seed=0, sampler=sampler)  # the first call compiles the loop
    start = time.perf_counter()
    images = shipped_consistency.generate(64, seed=0, sampler=sampler)
    steps = (sampler or shipped_consistency.default_sampler()).steps
    print(f"  {steps} evaluation(s): {1000 * (time.perf_counter() - start) / len(images):.2f} ms per sample")

# ## Evaluate, save and load
#
# `ak.evaluate_model` draws samples and measures FD, KID, precision/recall and
# density/coverage in a classifier's feature space, against a real-data floor; pass
# the sampler the numbers are for.

if not QUICK:
    metrics = ak.evaluate_model(ddpm, data=DATA, num_samples=5000, sampler=samplers["dpm_solver"])
    print({key: metrics[key] for key in ("fd", "kid", "precision", "recall") if key in metrics})

with tempfile.TemporaryDirectory() as directory:
    path = os.path.join(directory, "ddpm.keras")
    ddpm.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(
        restored.generate(4, seed=3, sampler=samplers["ddim"]),
        ddpm.generate(4, seed=3, sampler=samplers["ddim"]),
        atol=1e-5,
    )
    print("the .keras file holds the averaged weights `generate` uses")
