"""`Bijector`: an invertible map with the log-determinant of its Jacobian, as a Keras layer."""

import keras
from keras import ops


def sum_except_batch(values):
    """Sum over every axis but the first: one value per example."""
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package="artifex_keras")
class Bijector(keras.layers.Layer):
    """An invertible map `y = f(x)` with `log |det df/dx|`, one value per example.

    Subclasses implement `forward(x, context=None) -> (y, log_det)` and
    `inverse(y, context=None) -> (x, log_det)`, where `log_det` is
    `log |det dy/dx|` for `forward` and `log |det dx/dy|` for `inverse`
    (so the two are negatives of each other at matching points). A
    bijector whose output shape differs from its input (`Squeeze`, `Split`)
    overrides `output_event_shape`/`input_event_shape`. Calling the layer runs
    `forward`. Bijectors are Keras layers: a model that holds one tracks its
    weights, and `get_config` rebuilds it.

    Args:
        context_dim: width of the context vector a conditional bijector
            takes (0: unconditional).

    Example:
    ```python
    flow = Chain([Coupling(mask="alternate"), ReversePermutation(), Coupling(mask="alternate")])
    flow.build_for((2,))
    z, log_det = flow.forward(x)
    x_back, _ = flow.inverse(z)
    ```
    """

    def __init__(self, context_dim=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(context_dim, bool) or not isinstance(context_dim, int) or context_dim < 0:
            raise ValueError(f"{type(self).__name__}: `context_dim` must be a non-negative int, got {context_dim!r}")
        self.context_dim = context_dim
        self.event_shape = None

    # Shapes -----------------------------------------------------------------
    def build(self, input_shape):
        self.event_shape = tuple(input_shape[1:])

    def build_for(self, event_shape):
        """Create the weights for examples of shape `event_shape` (no batch axis); returns self."""
        if not self.built:
            self.build((None, *event_shape))
        return self

    def output_event_shape(self, event_shape):
        """Shape of one output of `forward` for inputs of shape `event_shape`."""
        return tuple(event_shape)

    def input_event_shape(self, event_shape):
        """Shape of one output of `inverse` for inputs of shape `event_shape`."""
        return tuple(event_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.output_event_shape(input_shape[1:])), (input_shape[0],)

    def _prepare(self, value, context, inverse=False):
        """Build on first use and check the context; returns `(value, context)` as float tensors."""
        value = ops.convert_to_tensor(value)
        if not self.built:
            shape = tuple(value.shape[1:])
            self.build((None, *(self.input_event_shape(shape) if inverse else shape)))
        if self.context_dim:
            if context is None:
                raise ValueError(
                    f"{type(self).__name__}: `context` is required (a float tensor of shape (batch, "
                    f"{self.context_dim})), got None"
                )
            context = ops.cast(context, value.dtype)
            if len(context.shape) != 2 or context.shape[-1] != self.context_dim:
                raise ValueError(
                    f"{type(self).__name__}: `context` must have shape (batch, {self.context_dim}), "
                    f"got shape {tuple(context.shape)}"
                )
        else:
            context = None
        return value, context

    def call(self, x, context=None):
        return self.forward(x, context)

    def get_config(self):
        return {**super().get_config(), "context_dim": self.context_dim}
