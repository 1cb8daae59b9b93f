"""Variational autoencoder with a Gaussian latent."""

import dataclasses
import math

import keras
import numpy as np
from keras import ops

from artifex_keras import losses
from artifex_keras import validation
from artifex_keras.config import Config
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.registration import register_model
from artifex_keras.models.vae.networks import build_decoder
from artifex_keras.models.vae.networks import build_encoder_trunk
from artifex_keras.models.vae.networks import check_conv_shape
from artifex_keras.models.vae.networks import downsampled_shape


@dataclasses.dataclass(frozen=True)
class VAEConfig(Config):
    """Configuration of a `VAE`.

    Args:
        input_shape: shape of one example, `(height, width, channels)`.
        latent_dim: size of the Gaussian latent vector (unused with `latent_channels`).
        architecture: `"mlp"` (dense layers) or `"conv"` (stride-2 convolutions).
        hidden_dims: units per dense layer, or filters per conv level.
        latent_channels: with `architecture="conv"`, a spatial latent: maps of
            `latent_channels` channels at `1 / 2 ** len(hidden_dims)` of the
            input's height and width (a 3x3 conv after the conv stack gives
            their means and log-variances; the decoder mirrors it). None: a
            latent vector of `latent_dim`.
        likelihood: `"bernoulli"` (data in [0, 1]) or `"gaussian"` (learned
            per-dimension scale).
        beta: weight of the KL term (1.0 gives the ELBO).
        kl_warmup_steps: anneal the KL weight linearly from 0 to `beta` over
            this many steps (0 disables annealing).
        seed: seed of the model's random draws.
    """

    input_shape: tuple = (28, 28, 1)
    latent_dim: int = 16
    architecture: str = "mlp"
    hidden_dims: tuple = (512, 256)
    latent_channels: int | None = None
    likelihood: str = "bernoulli"
    beta: float = 1.0
    kl_warmup_steps: int = 0
    seed: int | None = None

    def validate(self):
        self.check_int_tuple("input_shape")
        self.check_positive_int("latent_dim")
        self.check_choice("architecture", ("mlp", "conv"))
        self.check_int_tuple("hidden_dims")
        self.check_positive_int("latent_channels", allow_none=True)
        if self.latent_channels is not None and self.architecture != "conv":
            self._fail(
                "latent_channels",
                f"None with architecture={self.architecture!r} (a spatial latent needs 'conv')",
                self.latent_channels,
            )
        self.check_choice("likelihood", ("bernoulli", "gaussian"))
        self.check_number("beta", low=0.0)
        self.check_non_negative_int("kl_warmup_steps")
        if self.seed is not None:
            self.check_non_negative_int("seed")
        if self.architecture == "conv":
            check_conv_shape(type(self).__name__, self.input_shape, self.hidden_dims)

    @property
    def latent_shape(self):
        """Shape of one latent: `(latent_dim,)`, or `(height / 2 ** L, width / 2 ** L, latent_channels)`."""
        if self.latent_channels is None:
            return (self.latent_dim,)
        return (*downsampled_shape(self.input_shape, len(self.hidden_dims)), self.latent_channels)


@register_model("vae")
class VAE(GenerativeModel):
    """Variational autoencoder (Gaussian latent, Bernoulli or Gaussian decoder).

    Trained by maximising the evidence lower bound
    `E_q[log p(x|z)] - KL(q(z|x) || p(z))` with the reparameterisation trick.
    The latent is a vector (`latent_dim`) or, with `architecture="conv"` and
    `latent_channels`, a spatial map (`latent_shape`), as the autoencoder of
    a `LatentDiffusion` model needs.

    Args:
        config: a `VAEConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, _ = artifex_keras.data.load("digits")
    model = VAE(input_shape=(8, 8, 1), latent_dim=8, hidden_dims=(128,))
    model.compile()
    model.fit(x, epochs=2, batch_size=128)
    samples = model.generate(16, seed=0)        # (16, 8, 8, 1) NumPy
    nats = -model.elbo(x[:100]).mean()
    spatial = VAE(input_shape=(8, 8, 1), architecture="conv", hidden_dims=(16,), latent_channels=2)
    mean, log_var = spatial.encode(x[:4])       # (4, 4, 4, 2) each
    ```

    Reference:
        Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """

    config_class = VAEConfig
    family = "vae"
    metric_names = ("loss", "reconstruction", "kl")

    @property
    def latent_shape(self):
        """Shape of one latent `z`: `(latent_dim,)`, or `(height, width, latent_channels)` for a spatial latent."""
        return self.config.latent_shape

    @property
    def condition_dim(self):
        """Width of the conditioning vector (0 for unconditional models)."""
        return 0

    def build_networks(self):
        config = self.config
        spatial = config.latent_channels is not None
        self.encoder = build_encoder_trunk(
            config.architecture, config.input_shape, config.hidden_dims, name="encoder", spatial=spatial
        )
        features = (*self.encoder.output_shape[1:-1], self.encoder.output_shape[-1] + self.condition_dim)
        latent = self.latent_shape
        head = keras.layers.Conv2D(2 * latent[-1], 3, padding="same") if spatial else keras.layers.Dense(2 * latent[-1])
        self.posterior_head = keras.Sequential([keras.Input(shape=features), head], name="posterior_head")
        self.decoder = build_decoder(
            config.architecture,
            latent[-1] + self.condition_dim,
            config.input_shape,
            config.hidden_dims,
            name="decoder",
            spatial=spatial,
        )
        if config.likelihood == "gaussian":
            self.decoder_log_scale = self.add_weight(
                shape=config.input_shape, initializer="zeros", name="decoder_log_scale"
            )

    @property
    def data_range(self):
        return (0.0, 1.0) if self.config.likelihood == "bernoulli" else None

    # Building blocks (backend tensors) ----------------------------------------
    def unpack_batch(self, data):
        """`(x, condition)` from a training batch; condition is None here."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return ops.cast(x, "float32"), None

    def posterior(self, x, condition=None, training=False):
        """Mean and log-variance of `q(z | x)`."""
        features = _with_condition(self.encoder(x, training=training), condition)
        stats = ops.cast(self.posterior_head(features, training=training), "float32")
        mean, log_var = ops.split(stats, 2, axis=-1)
        return mean, log_var

    def decoder_output(self, z, condition=None, training=False):
        """Decoder logits (Bernoulli) or means (Gaussian), in float32."""
        return ops.cast(self.decoder(_with_condition(z, condition), training=training), "float32")

    def log_likelihood(self, x, output, batch_axes=1):
        """`log p(x | z)` per example from the decoder output (`batch_axes=2` for `(samples, batch, ...)`)."""
        if self.config.likelihood == "bernoulli":
            return losses.bernoulli_log_likelihood(x, output, batch_axes)
        log_scale = ops.cast(self.decoder_log_scale, "float32")
        return losses.gaussian_log_likelihood(x, output, log_scale, batch_axes)

    def output_mean(self, output):
        """Mean of `p(x | z)` from the decoder output."""
        return ops.sigmoid(output) if self.config.likelihood == "bernoulli" else output

    def kl_weight(self):
        """KL weight with linear warm-up over `kl_warmup_steps`."""
        if not self.config.kl_warmup_steps or self.optimizer is None:
            return self.config.beta
        progress = ops.cast(self.optimizer.iterations + 1, "float32") / self.config.kl_warmup_steps
        return self.config.beta * ops.minimum(1.0, progress)

    def objective(self, reconstruction, kl):
        """Loss to minimise from mean reconstruction NLL and mean KL."""
        return reconstruction + self.kl_weight() * kl

    def compute_generative_loss(self, data, training=True):
        x, condition = self.unpack_batch(data)
        mean, log_var = self.posterior(x, condition, training=training)
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        z = mean + ops.exp(0.5 * log_var) * noise
        output = self.decoder_output(z, condition, training=training)
        reconstruction = -ops.mean(self.log_likelihood(x, output))
        kl = ops.mean(losses.gaussian_kl_to_standard_normal(mean, log_var))
        loss = self.objective(reconstruction, kl)
        return loss, {"loss": loss, "reconstruction": reconstruction, "kl": kl}

    def call(self, inputs, training=False):
        x, condition = self.unpack_batch(inputs)
        mean, _ = self.posterior(x, condition, training=training)
        return self.output_mean(self.decoder_output(mean, condition, training=training))

    def condition_vector(self, labels):
        """The decoder's and encoder's conditioning tensor for int labels (None for unconditional models)."""
        return None

    def sample(self, num_samples, seed_generator, sampler=None, labels=None):
        z = keras.random.normal((num_samples, *self.latent_shape), seed=seed_generator)
        return self.output_mean(self.decoder_output(z, self.condition_vector(labels)))

    # Public NumPy API -----------------------------------------------------------
    def _check_x(self, method, x):
        validation.check_batch(f"{type(self).__name__}.{method}", "x", x, self.data_shape, self.data_range)

    def _labels(self, method, labels, num_examples):
        """`labels` checked against the model's condition spec (None for unconditional models)."""
        owner = f"{type(self).__name__}.{method}"
        return self.check_conditions(owner, {"labels": labels}, num_examples).get("labels")

    def encode(self, x, labels=None, batch_size=512):
        """Posterior mean and log-variance of `q(z|x)`, as NumPy arrays."""
        self._check_x("encode", x)
        labels = self._labels("encode", labels, len(x))

        def encode(generator, xb, lb):
            return self.posterior(ops.cast(xb, "float32"), self.condition_vector(lb))

        return self.map_compiled("encode", encode, batch_size, x, labels)

    def decode(self, z, labels=None, batch_size=512):
        """Mean of `p(x|z)` for latent codes `z`, as NumPy."""
        z = np.asarray(z, "float32")
        validation.check_batch(f"{type(self).__name__}.decode", "z", z, self.latent_shape)
        labels = self._labels("decode", labels, len(z))

        def decode(generator, zb, lb):
            return self.output_mean(self.decoder_output(zb, self.condition_vector(lb)))

        return self.map_compiled("decode", decode, batch_size, z, labels)

    def reconstruct(self, x, labels=None, batch_size=512):
        """Decode the posterior mean of each input."""
        mean, _ = self.encode(x, labels, batch_size=batch_size)
        return self.decode(mean, labels, batch_size=batch_size)

    def interpolate(self, x_start, x_end, steps=8, labels=None):
        """Decode `steps` points on the line between the latent means of two inputs.

        `x_start` and `x_end` are single examples shaped like the data;
        returns `(steps, *data_shape)`.
        """
        steps = validation.check_positive_int(f"{type(self).__name__}.interpolate", "steps", steps)
        pair = np.stack([np.asarray(x_start, "float32"), np.asarray(x_end, "float32")])
        pair_labels = None if labels is None else np.repeat(np.asarray(labels).reshape(-1)[:1], 2)
        (start, end), _ = self.encode(pair, pair_labels)
        weights = np.linspace(0.0, 1.0, steps, dtype="float32").reshape(-1, *[1] * len(self.latent_shape))
        path = (1.0 - weights) * start + weights * end
        path_labels = None if pair_labels is None else np.repeat(pair_labels[:1], steps)
        return self.decode(path, path_labels)

    def elbo(self, x, labels=None, batch_size=512, seed=0):
        """Per-example evidence lower bound in nats (one posterior sample, analytic KL)."""
        owner = f"{type(self).__name__}.elbo"
        self._check_x("elbo", x)
        labels = self._labels("elbo", labels, len(x))
        generator = keras.random.SeedGenerator(validation.check_seed(owner, seed))

        def bound(generator, xb, lb):
            xb = ops.cast(xb, "float32")
            condition = self.condition_vector(lb)
            mean, log_var = self.posterior(xb, condition)
            z = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean), seed=generator)
            log_px = self.log_likelihood(xb, self.decoder_output(z, condition))
            return log_px - losses.gaussian_kl_to_standard_normal(mean, log_var)

        return self.map_compiled("elbo", bound, batch_size, x, labels, seed_generator=generator)

    def nll(self, x, num_samples=1000, labels=None, batch_size=None, seed=0):
        """Importance-weighted upper bound on `-log p(x)` per example, in nats.

        With `num_samples=k` this is the IWAE bound (Burda et al., 2016), which
        tightens as `k` grows; `k=1` is the negative ELBO estimated with one
        sample of `q(z|x)` (and no analytic KL).
        """
        owner = f"{type(self).__name__}.nll"
        num_samples = validation.check_positive_int(owner, "num_samples", num_samples)
        self._check_x("nll", x)
        labels = self._labels("nll", labels, len(x))
        generator = keras.random.SeedGenerator(validation.check_seed(owner, seed))
        if batch_size is None:
            batch_size = max(1, IWAE_ROWS // num_samples)
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        chunk = max(1, min(num_samples, IWAE_ROWS // min(batch_size, len(x))))

        def bound(generator, xb, lb):
            xb = ops.cast(xb, "float32")
            return -self._log_marginal(xb, self.condition_vector(lb), num_samples, chunk, generator)

        return self.map_compiled(("nll", num_samples, chunk), bound, batch_size, x, labels, seed_generator=generator)

    def _log_marginal(self, x, condition, num_samples, chunk, generator):
        """`log (1/k) sum_i p(x, z_i) / q(z_i | x)`, accumulated over chunks of `chunk` samples in a loop.

        All the noise is drawn before the loop (the loop body holds no random
        state); the last chunk's samples past `k` get zero weight. Samples and
        examples stay separate axes `(chunk, batch, ...)`, so the data
        broadcast against the decoder's outputs instead of being copied.
        """
        batch = ops.shape(x)[0]
        latent_shape = self.latent_shape
        chunks = math.ceil(num_samples / chunk)
        mean, log_var = self.posterior(x, condition)
        condition = None if condition is None else _tile(condition, chunk)
        noise = keras.random.normal((chunks, chunk, batch, *latent_shape), seed=generator)
        offsets = ops.arange(chunk, dtype="int32")

        def step(index, running):
            z = mean + ops.exp(0.5 * log_var) * ops.take(noise, index, axis=0)
            output = self.decoder_output(ops.reshape(z, (chunk * batch, *latent_shape)), condition)
            output = ops.reshape(output, (chunk, batch, *self.data_shape))
            log_w = (
                self.log_likelihood(x[None], output, batch_axes=2)
                + losses.standard_normal_log_prob(z, batch_axes=2)
                - losses.diagonal_normal_log_prob(z, mean, log_var, batch_axes=2)
            )
            valid = (index * chunk + offsets) < num_samples
            log_w = ops.where(valid[:, None], log_w, -np.inf)
            return ops.logaddexp(running, ops.logsumexp(log_w, axis=0))

        start = ops.full((batch,), -np.inf, dtype="float32")
        running = step(0, start) if chunks == 1 else ops.fori_loop(0, chunks, step, start)
        return running - np.log(num_samples)


# Rows (examples times importance samples) per decoder pass of `nll`: small enough to stay in the
# CPU caches (measured fastest on JAX, TensorFlow and PyTorch), large enough for efficient matmuls.
IWAE_ROWS = 2048


def _with_condition(tensor, condition):
    """`tensor` with the conditioning vectors `(batch, k)` appended on its last axis, repeated over any spatial axes."""
    if condition is None:
        return tensor
    condition = ops.cast(condition, tensor.dtype)
    if len(tensor.shape) > 2:
        for _ in range(len(tensor.shape) - 2):
            condition = ops.expand_dims(condition, 1)
        # Multiplying by ones broadcasts the vectors over the spatial axes, whatever the batch size.
        condition = condition * ops.ones_like(tensor[..., :1])
    return ops.concatenate([tensor, condition], axis=-1)


def _tile(tensor, count):
    """`count` copies of a batch stacked along the batch axis: `(count * batch, ...)`, copy-major.

    A broadcast, not a repeat: compilers fuse it into its consumers instead of writing the copies.
    """
    shape = tuple(tensor.shape)
    return ops.reshape(ops.broadcast_to(ops.expand_dims(tensor, 0), (count, *shape)), (count * shape[0], *shape[1:]))
