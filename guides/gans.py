# # Generative adversarial networks with artifex_keras
#
# A **GAN** trains a generator `G(z)` against a discriminator `D(x)` that tells
# real examples from generated ones. Each training step has two **phases**, each
# with its own optimizer: first the discriminator, then the generator against the
# updated discriminator. The family:
#
# * `GAN`: any adversarial loss (`"vanilla"`, `"non_saturating"`, `"least_squares"`,
#   `"wasserstein"`, `"hinge"`), gradient penalties (WGAN-GP, R1), spectral
#   normalisation, label smoothing, DiffAugment, critic steps per generator step,
#   and an exponential moving average (EMA) of the generator that `generate` samples from;
# * `DCGAN`, `LSGAN`, `WGANGP`: the same with their papers' losses and optimizers;
# * `ConditionalGAN`: class-conditional, with a projection discriminator;
# * `StyleGAN2`: a style-based generator with modulated convolutions, truncation
#   and style mixing, against a residual discriminator;
# * `Pix2Pix` and `CycleGAN`: image-to-image translation (paired and unpaired)
#   with PatchGAN discriminators.
#
# This guide trains a WGAN-GP on a 2-D mixture of eight Gaussians (where mode
# coverage is measurable), a DCGAN on images while watching sample grids, a
# conditional GAN, and the two translation models. Run it with any Keras backend:
# `KERAS_BACKEND=jax python guides/gans.py`. `ARTIFEX_GUIDE_QUICK=1` makes it a
# seconds-long run.

import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import numpy as np

import artifex_keras as ak
from artifex_keras.callbacks import SampleGrid
from artifex_keras.metrics.precision_recall import precision_recall

QUICK = os.environ.get("ARTIFEX_GUIDE_QUICK") == "1"
DATA = "digits" if QUICK else "fashion_mnist"
LIMIT = 128 if QUICK else None

# ## WGAN-GP on eight Gaussians
#
# On vector data, use the `"mlp"` architecture and a linear output. `n_critic=5`
# updates the critic on every batch and the generator once every five (its
# optimizer accumulates the gradients of five batches).

points = ak.data.eight_gaussians(512 if QUICK else 20000, seed=0)
wgan = ak.models.WGANGP(
    input_shape=(2,),
    architecture="mlp",
    output_activation="linear",
    latent_dim=8,
    generator_dims=(16,) if QUICK else (128, 128),
    discriminator_dims=(16,) if QUICK else (128, 128),
    n_critic=5,
    ema_decay=0.99,
    seed=0,
)
wgan.compile()  # Adam(1e-4, beta_1=0, beta_2=0.9) per phase, as in the paper
history = wgan.fit(points, epochs=1 if QUICK else 100, batch_size=256, verbose=0)
print({name: values[-1] for name, values in history.history.items()})

# Improved precision and recall: recall falls when the generator drops modes.

real = ak.data.eight_gaussians(1000, seed=1)
precision, recall = precision_recall(real, wgan.generate(1000, seed=0), k=3)
print(f"WGAN-GP precision {precision:.2f}, recall {recall:.2f}")

# ## DCGAN on images, watching sample grids
#
# `SampleGrid` saves a PNG of samples from a fixed seed after every epoch (or
# every `every_n_epochs`), so successive grids show how the same latents evolve.
# Spectral normalisation and DiffAugment are switches.

x_train, y_train = ak.data.load(DATA, split="train", limit=LIMIT)
shape = x_train.shape[1:]
dcgan = ak.models.DCGAN(
    input_shape=shape,
    latent_dim=16 if QUICK else 64,
    generator_dims=(16, 8) if QUICK else (128, 64),
    discriminator_dims=(8, 16) if QUICK else (64, 128),
    spectral_norm=True,
    diff_augment=("translation", "cutout"),
    seed=0,
)
# One optimizer per phase; phases left out keep their defaults.
dcgan.compile(optimizer={"discriminator": keras.optimizers.Adam(2e-4, beta_1=0.5)})
with tempfile.TemporaryDirectory() as directory:
    grids = SampleGrid(os.path.join(directory, "grids"), every_n_epochs=1, num_samples=16, columns=4)
    dcgan.fit(x_train, epochs=1 if QUICK else 20, batch_size=64, callbacks=[grids], verbose=0)
    print("sample grids:", [path.name for path in grids.paths])

    # A `.keras` file keeps both optimizers and the random state: training resumes exactly.
    dcgan.save(os.path.join(directory, "dcgan.keras"))
    resumed = keras.saving.load_model(os.path.join(directory, "dcgan.keras"))
    print("optimizers:", {name: type(opt).__name__ for name, opt in resumed.phase_optimizers.items()})

images = dcgan.generate(16, seed=0)
print("DCGAN samples", images.shape, float(images.min()), float(images.max()))

# ## Evaluate
#
# `ak.evaluate_model` measures sample quality in a classifier's
# feature space: Fréchet distance, KID, precision/recall and density/coverage,
# with the same numbers for real data as a floor.

if not QUICK:
    metrics = ak.evaluate_model(dcgan, data=DATA, num_samples=5000)
    print({key: metrics[key] for key in ("fd", "kid", "precision", "recall") if key in metrics})

# ## The shipped preset
#
# `dcgan_fashion_mnist` is this DCGAN trained for 12 epochs on the 60,000
# Fashion-MNIST training images; its metadata holds the command that trained it
# and the metrics of 10,000 samples against the test split.

pretrained = ak.from_preset("dcgan_fashion_mnist")
recorded = ak.preset_metadata("dcgan_fashion_mnist")["evaluation"]["metrics"]
print("preset FD", round(recorded["fd"], 2), "(real-vs-real floor", round(recorded["floor"]["fd"], 3), ")")
print("preset samples", pretrained.generate(8, seed=0).shape)

# `wgan_gp_fashion_mnist` is a `WGANGP` with the same networks (five critic steps
# per generator step, gradient penalty 10); its samples cover more of the data.

for name in ("dcgan_fashion_mnist", "wgan_gp_fashion_mnist"):
    metrics = ak.preset_metadata(name)["evaluation"]["metrics"]
    print(f"{name}: FD {metrics['fd']:.2f}, precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}")

# ## Conditional GAN
#
# Train on `(x, y)`; generate with `labels=`. The discriminator scores
# `psi(phi(x)) + <embed(y), phi(x)>` (projection discriminator, hinge loss and
# spectral normalisation by default).

cgan = ak.models.ConditionalGAN(
    input_shape=shape,
    num_classes=10,
    latent_dim=16 if QUICK else 64,
    generator_dims=(16, 8) if QUICK else (128, 64),
    discriminator_dims=(8, 16) if QUICK else (64, 128),
    seed=0,
)
cgan.fit(x_train, y_train, epochs=1 if QUICK else 20, batch_size=64, verbose=0)
sevens = cgan.generate(8, labels=7, seed=0)
print("class-7 samples", sevens.shape, cgan.condition_spec())

# ## Pix2Pix: paired image-to-image translation
#
# `Pix2Pix` learns a generator `G(source)` from `(source, target)` pairs: a
# U-Net (or ResNet) generator and a PatchGAN discriminator that scores every
# image patch of the (source, image) pair, plus `lambda_l1 * |target - G(source)|`.
# The paired task here maps Fashion-MNIST edge maps back to the images
# (`ak.data.load_translation("fashion_mnist_edges")`); the quick run makes the
# same pairs from the digits with `ak.data.edge_map`.

if QUICK:
    edge_sources, edge_targets = ak.data.edge_map(x_train), x_train
else:
    edge_sources, edge_targets = ak.data.load_translation("fashion_mnist_edges", split="train")
pix2pix = ak.models.Pix2Pix(
    input_shape=edge_sources.shape[1:],
    generator_filters=8 if QUICK else 32,
    discriminator_filters=8 if QUICK else 32,
    discriminator_layers=1 if QUICK else 2,  # 16x16 or 34x34 patches
    seed=0,
)
pix2pix.compile()  # Adam(2e-4, beta_1=0.5) for each of the two phases
pix2pix.fit(edge_sources, edge_targets, epochs=1 if QUICK else 10, batch_size=32, verbose=0)
translated = pix2pix.translate(edge_sources[:8])
print("pix2pix: L1 to the targets", float(abs(translated - edge_targets[:8]).mean()))

# ## CycleGAN: unpaired translation
#
# `CycleGAN` needs no pairs: two unrelated sets of images, A (sneakers) and B
# (ankle boots). It trains `G: A -> B` and `F: B -> A` with a PatchGAN per
# domain, least-squares adversarial losses, and cycle consistency
# `|F(G(a)) - a| + |G(F(b)) - b|`. The quick run uses the digits 0 and 1 as domains.

if QUICK:
    domain_a, domain_b = ak.data.two_domains(x_train, y_train, classes_a=(0,), classes_b=(1,))
else:
    domain_a, domain_b = ak.data.load_translation("fashion_mnist_sneakers_boots", split="train")
cyclegan = ak.models.CycleGAN(
    input_shape=domain_a.shape[1:],
    generator_filters=4 if QUICK else 32,
    generator_depth=1 if QUICK else 2,
    residual_blocks=1 if QUICK else 4,
    discriminator_filters=4 if QUICK else 32,
    discriminator_layers=1 if QUICK else 2,
    seed=0,
)
cyclegan.fit(domain_a, domain_b, epochs=1 if QUICK else 10, batch_size=8 if QUICK else 32, verbose=0)
to_b = cyclegan.translate(domain_a[:8])                        # G: A -> B
back_to_a = cyclegan.translate(to_b, direction="b_to_a")      # F: B -> A
print("CycleGAN: cycle L1", float(abs(back_to_a - domain_a[:8]).mean()))

# The shipped `cyclegan_sneakers_boots` was trained on the full task. Our
# Fashion-MNIST classifier reads its translations of real test sneakers as ankle
# boots (class 9).

shipped = ak.from_preset("cyclegan_sneakers_boots")
sneakers, _ = ak.data.load_translation("fashion_mnist_sneakers_boots", split="test", limit=64)
classifier = ak.from_preset("fashion_mnist_classifier")
as_boots = np.argmax(classifier.predict_proba(shipped.translate(sneakers)), axis=-1) == 9
print(f"shipped CycleGAN: {as_boots.mean():.0%} of translated test sneakers read as ankle boots")

# ## StyleGAN2: styles, truncation and style mixing
#
# `StyleGAN2` maps `z` to an intermediate latent `w` with an MLP (the mapping
# network), then grows a learned 4x4 constant into the image with 3x3
# convolutions whose weights each `w` modulates and demodulates, per-pixel noise,
# and a `ToRGB` output at every resolution that is added to the upsampled image so
# far. Every layer reads its own `w`, so training mixes the styles of two latents
# at a random layer (`style_mixing_probability`). The discriminator is residual,
# with a minibatch standard deviation; lazy R1 (`r1_weight`, applied every
# `r1_interval` steps) keeps it smooth, and path-length regularisation is a
# switch (`path_length_weight`). The networks work at a power-of-2 size: 28x28
# Fashion-MNIST trains at 32x32 (real images get a black border on the way into
# the discriminator, samples are cropped back to 28x28).

style_images = x_train
stylegan = ak.models.StyleGAN2(
    input_shape=style_images.shape[1:],
    latent_dim=8 if QUICK else 256,
    w_dim=8 if QUICK else 256,
    mapping_layers=1 if QUICK else 8,
    generator_channels=(8, 4) if QUICK else (256, 256, 128, 64),
    discriminator_channels=(8, 4) if QUICK else (256, 256, 128, 64),
    seed=0,
)
stylegan.compile()  # Adam(0.002, beta_1=0, beta_2=0.99) per phase, corrected for the lazy R1 steps
stylegan.fit(style_images, epochs=1 if QUICK else 50, batch_size=32, verbose=0)

# The truncation trick draws `w` closer to the average `w` tracked during
# training: `w_avg + psi * (w - w_avg)`. Lower `truncation_psi` trades variety for
# typical, cleaner images; `psi=0` gives the same "average" image for every `z`.
# `noise_mode="none"` switches off the per-pixel noise.

for psi in (1.0, 0.7, 0.0):
    images = stylegan.generate(16, seed=0, truncation_psi=psi, noise_mode="none")
    print(f"truncation_psi={psi}: spread across samples {float(images.std(axis=0).mean()):.4f}")

# Style mixing: the layers before `crossover` take the styles of `z_coarse`
# (pose, layout), the rest those of `z_fine` (texture, details). `crossover=0` is
# `z_fine` alone, `crossover=stylegan.num_ws` is `z_coarse` alone.

z = keras.ops.convert_to_numpy(keras.random.normal((8, stylegan.config.latent_dim), seed=0))
for crossover in (0, stylegan.num_ws // 2, stylegan.num_ws):
    mixed = stylegan.style_mix(z[:4], z[4:], crossover=crossover, truncation_psi=0.7)
    print(f"crossover {crossover} of {stylegan.num_ws}:", mixed.shape)

# The shipped `stylegan2_fashion_mnist` is a StyleGAN2 at 32x32 (the 28x28 images
# padded with black, samples cropped back) with 128-wide styles, trained for 16 epochs
# on a 2-core CPU. It has the lowest FD of our GAN presets (1.41), and its samples are
# as sharp as real images (precision at the real floor), but its recall shows it still
# covers fewer of the data's modes than the diffusion models do.

pretrained_style = ak.from_preset("stylegan2_fashion_mnist")
metrics = ak.preset_metadata("stylegan2_fashion_mnist")["evaluation"]["metrics"]
print(f"stylegan2_fashion_mnist: FD {metrics['fd']:.2f}, precision {metrics['precision']:.3f}, "
      f"recall {metrics['recall']:.3f}")  # fmt: skip
print("preset samples", pretrained_style.generate(4, seed=0, truncation_psi=0.7).shape)
