"""Gradient regularisers of the discriminator: the WGAN-GP gradient penalty and R1.

Both differentiate the discriminator with respect to its input with
`artifex_keras.backend.input_gradient`, whose result is differentiable
again, so the penalty's gradient with respect to the discriminator's
weights flows through it inside the training step on every backend.

Example:
```python
penalty = gradient_penalty(lambda x: critic(x), real, fake, seed_generator)
loss = wasserstein_loss + 10.0 * penalty
```
"""

import keras
from keras import ops

from artifex_keras.backend import input_gradient


def _squared_norms(grads):
    grads = ops.cast(grads, "float32")
    return ops.sum(ops.reshape(ops.square(grads), (ops.shape(grads)[0], -1)), axis=-1)


def gradient_norm_penalty(fn, points, target=1.0):
    """`mean((||grad_x fn(x)|| - target)^2)` over the batch `points` (one norm per example)."""
    norms = ops.sqrt(_squared_norms(input_gradient(fn, points)) + 1e-12)
    return ops.mean(ops.square(norms - target))


def interpolate(real, fake, seed_generator):
    """Points on the lines between paired `real` and `fake` examples, one uniform position per example."""
    real = ops.cast(real, "float32")
    fake = ops.cast(fake, "float32")
    shape = (ops.shape(real)[0],) + (1,) * (len(real.shape) - 1)
    alpha = keras.random.uniform(shape, seed=seed_generator)
    return real + alpha * (fake - real)


def gradient_penalty(fn, real, fake, seed_generator, target=1.0):
    """The WGAN-GP penalty: `gradient_norm_penalty` at random interpolates of `real` and `fake`.

    Reference:
        Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017, eq. 3.
    """
    return gradient_norm_penalty(fn, interpolate(real, ops.stop_gradient(fake), seed_generator), target)


def r1_penalty(fn, real):
    """`mean(||grad_x fn(x)||^2)` on real data (weight it by `gamma / 2`).

    Reference:
        Mescheder et al., "Which Training Methods for GANs do actually Converge?", ICML 2018, eq. 9.
    """
    return ops.mean(_squared_norms(input_gradient(fn, ops.cast(real, "float32"))))
