"""Spectral normalisation: a wrapper that divides a layer's kernel by its largest singular value."""

import keras
from keras import ops

_SUPPORTED = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Embedding)


@keras.saving.register_keras_serializable(package="artifex_keras")
class SpectralNormalization(keras.layers.Layer):
    """Wrap a `Dense`, `Conv2D` or `Embedding` layer so its kernel has spectral norm 1.

    The largest singular value `sigma` of the kernel (reshaped to a matrix
    `(fan_in, units)`) is estimated by power iteration; the wrapped layer
    computes with `kernel / sigma`. The iteration's vector `u` lives in a
    non-trainable variable and advances `power_iterations` steps per call
    in training mode only, so inference (and every gradient) sees a fixed
    estimate; no gradient flows through `u`.

    Args:
        layer: the layer to wrap (`Dense`, `Conv2D` or `Embedding`).
        power_iterations: power-iteration steps per training call.
        epsilon: added to norms before dividing.

    Example:
    ```python
    dense = SpectralNormalization(keras.layers.Dense(64))
    y = dense(x, training=True)
    sigma = dense.spectral_norm()       # current estimate of the kernel's largest singular value
    ```

    Reference:
        Miyato et al., "Spectral Normalization for Generative Adversarial Networks", ICLR 2018.
    """

    def __init__(self, layer, power_iterations=1, epsilon=1e-12, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, _SUPPORTED):
            kinds = ", ".join(kind.__name__ for kind in _SUPPORTED)
            raise ValueError(f"SpectralNormalization: `layer` must be a {kinds} layer, got {type(layer).__name__}")
        if isinstance(layer, keras.layers.Conv2D) and layer.groups != 1:
            raise ValueError(
                f"SpectralNormalization: grouped convolutions are not supported, got groups={layer.groups}"
            )
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) or power_iterations < 1:
            raise ValueError(
                f"SpectralNormalization: `power_iterations` must be a positive int, got {power_iterations!r}"
            )
        if not epsilon > 0:
            raise ValueError(f"SpectralNormalization: `epsilon` must be positive, got {epsilon!r}")
        self.layer = layer
        self.power_iterations = power_iterations
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        units = self._kernel_variable().shape[-1]
        if isinstance(self.layer, keras.layers.Embedding):
            units = self._kernel_variable().shape[0]
        self.u = self.add_weight(
            shape=(1, units), initializer=keras.initializers.RandomNormal(seed=0), trainable=False, name="u"
        )
        self.built = True

    def _kernel_variable(self):
        return self.layer.embeddings if isinstance(self.layer, keras.layers.Embedding) else self.layer.kernel

    def _matrix(self):
        """The kernel as a matrix `(fan_in, units)`; an embedding table `(input_dim, output_dim)` as its transpose."""
        kernel = ops.cast(self._kernel_variable(), "float32")
        if isinstance(self.layer, keras.layers.Embedding):
            return ops.transpose(kernel)
        return ops.reshape(kernel, (-1, kernel.shape[-1]))

    def _normalize(self, vector):
        return vector / (ops.sqrt(ops.sum(ops.square(vector))) + self.epsilon)

    def _iterate(self, matrix, u, steps):
        matrix = ops.stop_gradient(matrix)
        v = None
        for _ in range(steps):
            v = self._normalize(ops.matmul(u, ops.transpose(matrix)))
            u = self._normalize(ops.matmul(v, matrix))
        return u, v

    def spectral_norm(self):
        """The current estimate of the kernel's largest singular value (a scalar tensor)."""
        matrix = self._matrix()
        u = ops.cast(self.u, "float32")
        v = self._normalize(ops.matmul(u, ops.transpose(ops.stop_gradient(matrix))))
        return ops.sum(ops.matmul(v, matrix) * u)

    def normalized_kernel(self, training=False):
        matrix = self._matrix()
        u = ops.cast(self.u, "float32")
        if training:
            u, _ = self._iterate(matrix, u, self.power_iterations)
            self.u.assign(ops.cast(u, self.u.dtype))
        u = ops.stop_gradient(u)
        v = ops.stop_gradient(self._normalize(ops.matmul(u, ops.transpose(ops.stop_gradient(matrix)))))
        sigma = ops.sum(ops.matmul(v, matrix) * u)
        kernel = self._kernel_variable()
        return ops.cast(ops.cast(kernel, "float32") / sigma, kernel.dtype)

    def call(self, inputs, training=False):
        kernel = ops.cast(self.normalized_kernel(training=training), self.compute_dtype)
        layer = self.layer
        if isinstance(layer, keras.layers.Embedding):
            return ops.take(kernel, ops.cast(inputs, "int32"), axis=0)
        inputs = ops.cast(inputs, self.compute_dtype)
        if isinstance(layer, keras.layers.Conv2D):
            outputs = ops.conv(
                inputs,
                kernel,
                strides=layer.strides,
                padding=layer.padding,
                data_format=layer.data_format,
                dilation_rate=layer.dilation_rate,
            )
            if layer.use_bias:
                bias_shape = (1, 1, 1, -1) if layer.data_format == "channels_last" else (1, -1, 1, 1)
                outputs = outputs + ops.reshape(ops.cast(layer.bias, self.compute_dtype), bias_shape)
        else:
            outputs = ops.matmul(inputs, kernel)
            if layer.use_bias:
                outputs = outputs + ops.cast(layer.bias, self.compute_dtype)
        return layer.activation(outputs) if layer.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "layer": keras.saving.serialize_keras_object(self.layer),
                "power_iterations": self.power_iterations,
                "epsilon": self.epsilon,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)
