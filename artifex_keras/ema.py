"""An exponential moving average of a network's weights, kept in a twin network.

Diffusion models and GANs sample from the averaged weights: the twin is an
ordinary, non-trainable network of the same architecture, so it is saved with
the model, restored by `load_model` and called like the network it averages.
"""

from keras import ops


class ExponentialMovingAverage:
    """`shadow = decay * shadow + (1 - decay) * online`, weight by weight.

    Trainable weights are averaged; non-trainable ones (normalisation
    statistics) are copied. Call `copy()` once both networks are built, and
    `update()` from the model's `after_training_step()`: it runs inside the
    compiled training step on every backend. `update(step)` warms the average
    up: at the `step`-th update (counting from 1) the decay is
    `min(decay, (1 + step) / (10 + step))`, so the random initial weights fade
    within tens of steps instead of thousands (0.999 alone keeps 62% of them
    after 469 steps).

    Args:
        online: the network being trained.
        shadow: a built network of the same architecture; it is made
            non-trainable.
        decay: weight of the old average, in [0, 1).

    Example:
    ```python
    def build_networks(self):
        self.denoiser = UNet(...)
        self.ema_denoiser = UNet(...)
        build_both(...)
        self.ema = ExponentialMovingAverage(self.denoiser, self.ema_denoiser, decay=0.999)
        self.ema.copy()

    def after_training_step(self):
        self.ema.update()
    ```
    """

    def __init__(self, online, shadow, decay=0.999):
        if not isinstance(decay, (int, float)) or isinstance(decay, bool) or not 0.0 <= decay < 1.0:
            raise ValueError(f"ExponentialMovingAverage: `decay` must be a number in [0, 1), got {decay!r}")
        shadow.trainable = False
        self.online = online
        self.shadow = shadow
        self.decay = float(decay)
        self._pairs = None

    def pairs(self):
        """`(online_weight, shadow_weight, averaged)` triples, matched by position."""
        if self._pairs is None:
            online_weights, shadow_weights = self.online.weights, self.shadow.weights
            if len(online_weights) != len(shadow_weights) or not online_weights:
                raise ValueError(
                    "ExponentialMovingAverage: `online` and `shadow` must be built networks of the same "
                    f"architecture, got {len(online_weights)} and {len(shadow_weights)} weights"
                )
            for source, target in zip(online_weights, shadow_weights):
                if tuple(source.shape) != tuple(target.shape):
                    raise ValueError(
                        f"ExponentialMovingAverage: weight {source.path} has shape {tuple(source.shape)} "
                        f"but its shadow {target.path} has {tuple(target.shape)}"
                    )
            self._pairs = [(source, target, source.trainable) for source, target in zip(online_weights, shadow_weights)]
        return self._pairs

    def copy(self):
        """Set the shadow weights to the online ones."""
        for source, target, _ in self.pairs():
            # A copy, not the same buffer: JAX donates both variables' buffers to the training step.
            target.assign(ops.copy(source.value))

    def update(self, step=None):
        """One averaging step; `step` (the number of updates so far, this one included) warms the decay up."""
        decay = self.decay
        if step is not None:
            step = ops.cast(step, "float32")
            decay = ops.minimum(decay, (1.0 + step) / (10.0 + step))
        for source, target, averaged in self.pairs():
            value = ops.stop_gradient(source.value)
            if averaged:
                value = decay * ops.cast(target.value, "float32") + (1.0 - decay) * ops.cast(value, "float32")
            target.assign(ops.cast(value, target.dtype))
