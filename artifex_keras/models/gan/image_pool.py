"""`ImagePool`: a history of generated images that a discriminator also trains on."""

import keras
from keras import ops


class ImagePool:
    """The last `size` generated images kept in a model's state, mixed into the discriminator's fakes.

    `query(images)` returns the images the discriminator sees instead of
    `images`: while the pool fills, each image is stored and returned as
    it is; once the pool is full (at the start of a batch), each image is,
    with probability 1/2, swapped for a stored image (which it replaces), and
    otherwise returned as it is. Swaps of one batch go to distinct slots
    (batches larger than the pool reuse slots; the last images written win
    by averaging). The pool is two non-trainable variables of the model
    (images and fill count), so it is saved in `.keras` files and presets
    and carried through the compiled training step on every backend.

    Args:
        model: the `keras.Model` that owns the pool's variables.
        size: images kept (CycleGAN uses 50).
        image_shape: shape of one image.
        name: prefix of the variables' names.

    Example:
    ```python
    pool = ImagePool(self, 50, (28, 28, 1), "pool_b")      # in build_networks
    fake_b = pool.query(fake_b, self.seed_generator)       # in the discriminator's loss
    ```

    Reference:
        Shrivastava et al., "Learning from Simulated and Unsupervised Images
        through Adversarial Training", CVPR 2017 (section 2.3); Zhu et al.,
        "Unpaired Image-to-Image Translation using Cycle-Consistent
        Adversarial Networks", ICCV 2017 (section 4).
    """

    def __init__(self, model, size, image_shape, name):
        self.size = int(size)
        self.images = model.add_weight(
            shape=(self.size, *image_shape), initializer="zeros", trainable=False, name=f"{name}_images"
        )
        self.count = model.add_weight(
            shape=(), initializer="zeros", trainable=False, dtype="int32", name=f"{name}_count"
        )

    def query(self, images, seed_generator, update=True):
        """The images a discriminator trains on in place of `images`; stores `images` when `update`."""
        images = ops.cast(images, "float32")
        batch = ops.shape(images)[0]
        count, pool = ops.convert_to_tensor(self.count), ops.convert_to_tensor(self.images)
        position = ops.arange(batch, dtype="int32")
        fill = position < self.size - count
        full = count >= self.size
        swap = ops.logical_and(full, keras.random.uniform((batch,), seed=seed_generator) < 0.5)
        # Distinct random slots for the swaps of one batch.
        slots = ops.cast(ops.argsort(keras.random.uniform((self.size,), seed=seed_generator)), "int32")
        swap_slot = ops.take(slots, position % self.size)
        stored = ops.take(pool, swap_slot, axis=0)
        shape = (-1,) + (1,) * (len(images.shape) - 1)
        returned = ops.where(ops.reshape(swap, shape), stored, images)
        if update:
            target = ops.where(fill, ops.minimum(count + position, self.size - 1), swap_slot)
            written = ops.cast(ops.logical_or(fill, swap), "float32")
            onehot = ops.one_hot(target, self.size) * written[:, None]  # (batch, size)
            writes = ops.sum(onehot, axis=0)
            flat = ops.reshape(images, (batch, -1))
            new = ops.matmul(ops.transpose(onehot), flat) / ops.maximum(writes, 1.0)[:, None]
            new = ops.reshape(new, ops.shape(pool))
            self.images.assign(ops.where(ops.reshape(writes > 0, shape), new, pool))
            self.count.assign(ops.minimum(count + batch, self.size))
        return returned
