"""Vector-quantised VAE with a PixelCNN prior over its code grid."""

import dataclasses

import keras
import numpy as np
from keras import layers
from keras import ops

from artifex_keras import losses
from artifex_keras import validation
from artifex_keras.config import Config
from artifex_keras.layers import GatedPixelCNN
from artifex_keras.layers import VectorQuantizer
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.registration import register_model
from artifex_keras.models.vae.networks import check_conv_shape
from artifex_keras.models.vae.networks import downsampled_shape
from artifex_keras.samplers import RandomSampler
from artifex_keras.samplers import TokenSampler
from artifex_keras.samplers import draw_with_state
from artifex_keras.samplers import loop_seed_state


@dataclasses.dataclass(frozen=True)
class VQVAEConfig(Config):
    """Configuration of a `VQVAE`.

    Args:
        input_shape: shape of one example, `(height, width, channels)`; height
            and width must be divisible by `2 ** len(hidden_dims)`.
        hidden_dims: filters per stride-2 conv level of the encoder (mirrored
            by the decoder); the code grid is the input halved once per level.
        num_embeddings: codebook size `K`.
        embedding_dim: size of each code vector.
        commitment_cost: weight `beta` of the commitment loss.
        ema: learn the codebook by exponential moving averages instead of
            gradients.
        ema_decay: decay of those moving averages.
        likelihood: `"bernoulli"` (data in [0, 1]) or `"gaussian"` (fixed unit
            variance, so the reconstruction term is half the summed squared
            error plus a constant).
        prior_filters: channels of the gated PixelCNN prior.
        prior_layers: gated layers of the prior (`layers.GatedPixelCNN`).
        prior_kernel_size: odd width of each prior layer's receptive field.
        seed: seed of the model's random draws.
    """

    input_shape: tuple = (28, 28, 1)
    hidden_dims: tuple = (32, 64)
    num_embeddings: int = 64
    embedding_dim: int = 16
    commitment_cost: float = 0.25
    ema: bool = False
    ema_decay: float = 0.99
    likelihood: str = "bernoulli"
    prior_filters: int = 64
    prior_layers: int = 4
    prior_kernel_size: int = 3
    seed: int | None = None

    def validate(self):
        self.check_int_tuple("input_shape")
        self.check_int_tuple("hidden_dims")
        check_conv_shape(type(self).__name__, self.input_shape, self.hidden_dims)
        self.check_positive_int("num_embeddings")
        self.check_positive_int("embedding_dim")
        self.check_number("commitment_cost", low=0.0)
        if not isinstance(self.ema, bool):
            self._fail("ema", "a bool", self.ema)
        self.check_number("ema_decay", low=0.0, high=1.0, high_inclusive=False)
        self.check_choice("likelihood", ("bernoulli", "gaussian"))
        self.check_positive_int("prior_filters")
        self.check_positive_int("prior_layers")
        self.check_positive_int("prior_kernel_size")
        if self.prior_kernel_size < 3 or self.prior_kernel_size % 2 == 0:
            self._fail("prior_kernel_size", "an odd int of at least 3", self.prior_kernel_size)
        if self.seed is not None:
            self.check_non_negative_int("seed")


@register_model("vqvae")
class VQVAE(GenerativeModel):
    """VQ-VAE: conv autoencoder with a discrete codebook and a PixelCNN prior.

    The encoder maps an image to a grid of vectors, each replaced by its
    nearest codebook entry (`VectorQuantizer`); the decoder maps the quantised
    grid back to `p(x | z)`. A PixelCNN over the grid of code ids learns the
    prior `p(z)`, and sampling draws codes from it in raster order.

    One training phase minimises, per image and averaged over the batch, the
    reconstruction NLL in nats, the VQ loss and the prior's NLL of the code
    ids. The VQ terms of eq. 3 are squared norms over the whole latent grid of
    an example, so the quantizer's per-element mean is multiplied by the
    number of latent elements `h * w * embedding_dim`: with a per-element
    mean against a reconstruction summed over pixels, the commitment term is
    too weak to hold the encoder outputs near their codes and they drift away
    (the VQ loss grows while training). The code ids are integers (no
    gradient reaches the encoder or codebook through them) and the prior's
    weights appear in no other term, so this equals training the prior in a
    separate phase on the codes of the current weights with its own Adam:
    Adam's moments are per parameter, so the prior's updates do not depend on
    the autoencoder's gradients (unless a global-norm clip is configured).

    Args:
        config: a `VQVAEConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, _ = artifex_keras.data.load("digits")
    model = VQVAE(input_shape=(8, 8, 1), hidden_dims=(16, 32), num_embeddings=16,
                  embedding_dim=8, prior_filters=16, prior_layers=2)
    model.compile()
    model.fit(x, epochs=2, batch_size=128)
    codes = model.encode(x[:4])                 # (4, 2, 2) int32
    samples = model.generate(16, seed=0)        # (16, 8, 8, 1) NumPy
    nats = -model.elbo(x[:100]).mean()
    ```

    Reference:
        van den Oord et al., "Neural Discrete Representation Learning",
        NeurIPS 2017; prior: van den Oord et al., "Conditional Image
        Generation with PixelCNN Decoders", NeurIPS 2016.
    """

    config_class = VQVAEConfig
    family = "vae"
    metric_names = ("loss", "reconstruction", "vq_loss", "perplexity", "prior_nll")
    accepted_samplers = (TokenSampler,)

    def build_networks(self):
        config = self.config
        filters = tuple(config.hidden_dims)
        self.code_shape = downsampled_shape(config.input_shape, len(filters))
        self.latent_size = self.code_shape[0] * self.code_shape[1] * config.embedding_dim
        self.encoder = keras.Sequential(
            [keras.Input(shape=config.input_shape)]
            + [layers.Conv2D(units, 4, strides=2, padding="same", activation="relu") for units in filters]
            + [layers.Conv2D(config.embedding_dim, 1)],
            name="encoder",
        )
        self.quantizer = VectorQuantizer(
            config.num_embeddings,
            config.embedding_dim,
            commitment_cost=config.commitment_cost,
            ema=config.ema,
            ema_decay=config.ema_decay,
            name="quantizer",
        )
        # Build now: on JAX, variables created inside a traced step are lost.
        self.quantizer.build((None, *self.code_shape, config.embedding_dim))
        self.decoder = keras.Sequential(
            [keras.Input(shape=(*self.code_shape, config.embedding_dim))]
            + [layers.Conv2D(filters[-1], 3, padding="same", activation="relu")]
            + [
                layers.Conv2DTranspose(units, 4, strides=2, padding="same", activation="relu")
                for units in reversed(filters)
            ]
            + [layers.Conv2D(config.input_shape[-1], 3, padding="same")],
            name="decoder",
        )
        # The gated PixelCNN of `PixelCNN` over the code ids; the bias-free Dense
        # on one-hot ids is the code embedding (a dense-gradient `Embedding`,
        # see VectorQuantizer.call).
        self.prior = keras.Sequential(
            [
                keras.Input(shape=(*self.code_shape, config.num_embeddings)),
                layers.Dense(config.prior_filters, use_bias=False, name="code_embedding"),
                GatedPixelCNN(
                    config.num_embeddings, config.prior_filters, config.prior_layers, config.prior_kernel_size,
                    name="gated_pixelcnn",
                ),  # fmt: skip
            ],
            name="prior",
        )

    @property
    def data_range(self):
        return (0.0, 1.0) if self.config.likelihood == "bernoulli" else None

    # Building blocks (backend tensors) ----------------------------------------
    def vector_quantize(self, x, training=False):
        """The quantizer's outputs (`quantized`, `indices`, `loss`, `perplexity`) for images `x`."""
        return self.quantizer(self.encoder(x, training=training), training=training)

    def decoder_output(self, quantized, training=False):
        """Decoder logits (Bernoulli) or means (Gaussian), in float32."""
        return ops.cast(self.decoder(quantized, training=training), "float32")

    def log_likelihood(self, x, output):
        """`log p(x | z)` per example from the decoder output."""
        if self.config.likelihood == "bernoulli":
            return losses.bernoulli_log_likelihood(x, output)
        # Fixed unit variance (log-scale 0): half the squared error plus a constant.
        return losses.gaussian_log_likelihood(x, output, 0.0)

    def output_mean(self, output):
        """Mean of `p(x | z)` from the decoder output."""
        return ops.sigmoid(output) if self.config.likelihood == "bernoulli" else output

    def prior_logits(self, indices, training=False):
        """Logits `(batch, h, w, num_embeddings)` of each code given the codes before it."""
        one_hot = ops.one_hot(ops.cast(indices, "int32"), self.config.num_embeddings)
        return ops.cast(self.prior(one_hot, training=training), "float32")

    def prior_log_prob(self, indices, training=False):
        """`log p(z)` per example under the autoregressive prior."""
        log_probs = ops.log_softmax(self.prior_logits(indices, training=training), axis=-1)
        one_hot = ops.one_hot(ops.cast(indices, "int32"), self.config.num_embeddings, dtype=log_probs.dtype)
        return ops.sum(one_hot * log_probs, axis=(1, 2, 3))

    def compute_generative_loss(self, data, training=True):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        x = ops.cast(x, "float32")
        vq = self.vector_quantize(x, training=training)
        reconstruction = -ops.mean(self.log_likelihood(x, self.decoder_output(vq["quantized"], training=training)))
        prior_nll = -ops.mean(self.prior_log_prob(vq["indices"], training=training))
        vq_loss = self.latent_size * ops.cast(vq["loss"], "float32")
        loss = reconstruction + vq_loss + prior_nll
        return loss, {
            "loss": loss,
            "reconstruction": reconstruction,
            "vq_loss": vq_loss,
            "perplexity": ops.cast(vq["perplexity"], "float32"),
            "prior_nll": prior_nll,
        }

    def call(self, inputs, training=False):
        vq = self.vector_quantize(ops.cast(inputs, "float32"), training=training)
        return self.output_mean(self.decoder_output(vq["quantized"], training=training))

    def default_sampler(self):
        return RandomSampler()

    def check_sampler(self, owner, sampler):
        sampler.check_categories(owner, self.config.num_embeddings)

    def sample_codes(self, num_samples, seed_generator, sampler=None):
        """Code grids `(num_samples, h, w)` drawn from the prior in raster order.

        `sampler` (a `TokenSampler`, default `RandomSampler()`: the prior
        itself) picks each code from the prior's logits at its position; the
        loop carries its own seed state, so it compiles on every backend.
        """
        sampler = sampler or self.default_sampler()
        height, width = self.code_shape
        positions = height * width
        order = ops.arange(positions, dtype="int32")[None, :]

        def step(position, carry):
            codes, seed_state = carry
            # The masked prior makes the logits at `position` depend only on
            # the codes already drawn before it.
            logits = ops.reshape(
                self.prior_logits(ops.reshape(codes, (num_samples, height, width))),
                (num_samples, positions, self.config.num_embeddings),
            )
            logits = ops.take(logits, position, axis=1)
            drawn, seed_state = draw_with_state(
                seed_generator, seed_state, lambda: sampler.next_token(logits, seed_generator)
            )
            return ops.where(order == position, drawn[:, None], codes), seed_state

        start = (ops.zeros((num_samples, positions), dtype="int32"), loop_seed_state(seed_generator))
        codes, _ = ops.fori_loop(0, positions, step, start)
        return ops.reshape(codes, (num_samples, height, width))

    def sample(self, num_samples, seed_generator, sampler=None):
        codes = self.sample_codes(num_samples, seed_generator, sampler)
        return self.output_mean(self.decoder_output(self.quantizer.lookup(codes)))

    # Public NumPy API -----------------------------------------------------------
    def _check_x(self, method, x):
        validation.check_batch(f"{type(self).__name__}.{method}", "x", x, self.data_shape, self.data_range)

    def _check_codes(self, method, indices):
        owner = f"{type(self).__name__}.{method}"
        indices = np.asarray(indices)
        if indices.ndim != 3 or indices.shape[1:] != tuple(self.code_shape):
            raise ValueError(
                f"{owner}: `indices` must have shape (batch, {self.code_shape[0]}, {self.code_shape[1]}), "
                f"got shape {indices.shape}"
            )
        if not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"{owner}: `indices` must hold integer code ids, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.config.num_embeddings):
            raise ValueError(
                f"{owner}: `indices` must lie in [0, {self.config.num_embeddings - 1}], "
                f"got values in [{indices.min()}, {indices.max()}]"
            )
        return indices.astype("int32")

    def encode(self, x, batch_size=512):
        """Code ids `(batch, h, w)` (int32 NumPy) of the nearest codebook entries."""
        self._check_x("encode", x)

        def encode(generator, xb):
            return self.vector_quantize(ops.cast(xb, "float32"))["indices"]

        return self.map_compiled("encode", encode, batch_size, x)

    def decode(self, indices, batch_size=512):
        """Mean of `p(x|z)` for code grids `indices`, as NumPy."""
        indices = self._check_codes("decode", indices)

        def decode(generator, codes):
            return self.output_mean(self.decoder_output(self.quantizer.lookup(codes)))

        return self.map_compiled("decode", decode, batch_size, indices)

    def reconstruct(self, x, batch_size=512):
        """Decode the codes of each input."""
        return self.decode(self.encode(x, batch_size=batch_size), batch_size=batch_size)

    def elbo(self, x, batch_size=512):
        """Per-example evidence lower bound in nats.

        The posterior `q(z|x)` puts all its mass on the nearest codes `z`, so
        `KL(q || p) = -log p(z)` under the learned prior and
        `ELBO = log p(x | z_q) + log p(z)`.
        """
        self._check_x("elbo", x)

        def bound(generator, xb):
            xb = ops.cast(xb, "float32")
            vq = self.vector_quantize(xb)
            return self.log_likelihood(xb, self.decoder_output(vq["quantized"])) + self.prior_log_prob(vq["indices"])

        return self.map_compiled("elbo", bound, batch_size, x)

