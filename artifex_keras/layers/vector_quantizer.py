"""Vector quantisation bottleneck of the VQ-VAE."""

import math

import keras
from keras import ops

from artifex_keras import validation


@keras.saving.register_keras_serializable(package="artifex_keras")
class VectorQuantizer(keras.layers.Layer):
    """Nearest-neighbour vector quantiser with a straight-through gradient.

    Each vector along the last axis of `z_e` is replaced by its nearest entry
    of a learned codebook of `num_embeddings` vectors. The call returns a dict:

    - `"quantized"`: the codebook vectors, shaped like `z_e`, with the
      straight-through estimator `z_e + stop_gradient(z_q - z_e)` so the
      decoder's gradient reaches the encoder unchanged;
    - `"indices"`: int32 code ids, shaped `z_e.shape[:-1]`;
    - `"loss"`: the VQ loss `||sg(z_e) - e||^2 + commitment_cost * ||z_e - sg(e)||^2`
      (means over elements; the codebook term is left out when `ema=True`);
    - `"perplexity"`: `exp(-sum_k p_k log p_k)` of the batch's code usage, from
      1 (one code used) to `num_embeddings` (all used equally).

    With `ema=True` the codebook is not trained by gradients: in training calls
    it follows exponential moving averages of each code's cluster size and of
    the sum of the vectors assigned to it, with Laplace smoothing of the sizes.

    Args:
        num_embeddings: codebook size `K`.
        embedding_dim: size `D` of each code vector (the last axis of `z_e`).
        commitment_cost: weight `beta` of the commitment term.
        ema: update the codebook by moving averages instead of gradients.
        ema_decay: decay `gamma` of the moving averages.
        epsilon: Laplace smoothing constant of the cluster sizes.

    Example:
    ```python
    quantizer = VectorQuantizer(num_embeddings=64, embedding_dim=16)
    out = quantizer(keras.random.normal((8, 7, 7, 16)), training=True)
    out["quantized"].shape, out["indices"].shape   # (8, 7, 7, 16), (8, 7, 7)
    quantizer.lookup(out["indices"])                 # the codebook vectors
    ```

    Reference:
        van den Oord et al., "Neural Discrete Representation Learning",
        NeurIPS 2017 (EMA updates: appendix A.1); Razavi et al., "Generating
        Diverse High-Fidelity Images with VQ-VAE-2", NeurIPS 2019.
    """

    def __init__(
        self,
        num_embeddings,
        embedding_dim,
        commitment_cost=0.25,
        ema=False,
        ema_decay=0.99,
        epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.num_embeddings = validation.check_positive_int(owner, "num_embeddings", num_embeddings)
        self.embedding_dim = validation.check_positive_int(owner, "embedding_dim", embedding_dim)
        self.commitment_cost = _check_float(
            owner, "commitment_cost", commitment_cost, "a finite number >= 0", 0.0, None
        )
        if not isinstance(ema, bool):
            raise ValueError(f"{owner}: `ema` must be a bool, got {ema!r}")
        self.ema = ema
        self.ema_decay = _check_float(owner, "ema_decay", ema_decay, "a number in [0, 1)", 0.0, 1.0)
        self.epsilon = _check_float(owner, "epsilon", epsilon, "a positive number", 0.0, None, low_inclusive=False)

    def build(self, input_shape):
        if input_shape[-1] != self.embedding_dim:
            raise ValueError(
                f"{type(self).__name__}: the last axis of the input must be embedding_dim={self.embedding_dim}, "
                f"got input shape {tuple(input_shape)}"
            )
        # Uniform in +-sqrt(3 / D): code vectors start at unit scale per component.
        self.embeddings = self.add_weight(
            shape=(self.num_embeddings, self.embedding_dim),
            initializer=keras.initializers.VarianceScaling(mode="fan_out", distribution="uniform"),
            trainable=not self.ema,
            name="embeddings",
        )
        if self.ema:
            # Start as if every code had been assigned once, to its own vector:
            # then `embeddings == ema_embedding_sum / ema_cluster_size` from
            # step 0, with no zero-initialisation bias to correct, and unused
            # codes decay gently instead of jumping to zero or blowing up.
            # The averages stay in the variable dtype (no autocast) so that
            # mixed precision does not round away their small updates.
            self.ema_cluster_size = self.add_weight(
                shape=(self.num_embeddings,),
                initializer="ones",
                trainable=False,
                autocast=False,
                name="ema_cluster_size",
            )
            self.ema_embedding_sum = self.add_weight(
                shape=(self.num_embeddings, self.embedding_dim),
                initializer="zeros",
                trainable=False,
                autocast=False,
                name="ema_embedding_sum",
            )
            self.ema_embedding_sum.assign(ops.copy(self.embeddings))

    def call(self, z_e, training=False):
        flat = ops.reshape(z_e, (-1, self.embedding_dim))
        codebook = ops.convert_to_tensor(self.embeddings)
        # argmin has no gradient, so the distances need none either.
        search = ops.stop_gradient(flat)
        distances = (
            ops.sum(ops.square(search), axis=1, keepdims=True)
            - 2.0 * ops.matmul(search, ops.transpose(codebook))
            + ops.sum(ops.square(codebook), axis=1)[None, :]
        )
        flat_indices = ops.cast(ops.argmin(distances, axis=1), "int32")
        one_hot = ops.one_hot(flat_indices, self.num_embeddings, dtype=flat.dtype)
        indices = ops.reshape(flat_indices, ops.shape(z_e)[:-1])
        # A one-hot matmul rather than a gather: its codebook gradient is dense
        # on every backend (TensorFlow's sparse gather gradient repeats rows
        # used by several vectors, which Keras' Adam mis-updates).
        z_q = ops.reshape(ops.matmul(one_hot, codebook), ops.shape(z_e))

        # Eq. 3 of the paper; the codebook term moves `e` towards the encoder
        # outputs, the commitment term keeps the encoder close to its codes.
        loss = self.commitment_cost * ops.mean(ops.square(z_e - ops.stop_gradient(z_q)))
        if not self.ema:
            loss = loss + ops.mean(ops.square(ops.stop_gradient(z_e) - z_q))
        elif training:
            self._update_codebook(ops.stop_gradient(one_hot), search)

        usage = ops.mean(one_hot, axis=0)
        perplexity = ops.exp(-ops.sum(usage * ops.log(usage + 1e-10)))
        quantized = z_e + ops.stop_gradient(z_q - z_e)
        return {"quantized": quantized, "indices": indices, "loss": loss, "perplexity": perplexity}

    def _update_codebook(self, one_hot, flat):
        """Moving-average codebook step (appendix A.1, eqs. 6-8)."""
        decay = self.ema_decay
        one_hot = ops.cast(one_hot, self.variable_dtype)
        flat = ops.cast(flat, self.variable_dtype)
        counts = ops.sum(one_hot, axis=0)
        sums = ops.matmul(ops.transpose(one_hot), flat)
        cluster_size = decay * self.ema_cluster_size + (1.0 - decay) * counts
        embedding_sum = decay * self.ema_embedding_sum + (1.0 - decay) * sums
        # Laplace smoothing keeps codes with no assignments from dividing by
        # zero while preserving the total count.
        total = ops.sum(cluster_size)
        smoothed = (cluster_size + self.epsilon) / (total + self.num_embeddings * self.epsilon) * total
        self.ema_cluster_size.assign(cluster_size)
        self.ema_embedding_sum.assign(embedding_sum)
        self.embeddings.assign(embedding_sum / smoothed[:, None])

    def lookup(self, indices):
        """Codebook vectors for integer code ids: shape `indices.shape + (embedding_dim,)`."""
        return ops.take(self.embeddings, ops.cast(indices, "int32"), axis=0)

    def get_config(self):
        return {
            **super().get_config(),
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "commitment_cost": self.commitment_cost,
            "ema": self.ema,
            "ema_decay": self.ema_decay,
            "epsilon": self.epsilon,
        }


def _check_float(owner, argument, value, expected, low, high, low_inclusive=True):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= low if low_inclusive else value > low)
    ok = ok and (high is None or value < high)
    if not ok:
        raise ValueError(f"{owner}: `{argument}` must be {expected}, got {value!r}")
    return float(value)
