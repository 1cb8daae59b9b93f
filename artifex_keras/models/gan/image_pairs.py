"""Training data of the image-to-image models: two image sets `x` and `y` of equal size, checked and unpacked alike."""

import keras
from keras import ops

from artifex_keras import validation


class ImagePairData:
    """Mixin of models that `fit(x, y)` on two image sets: source and target images, or two unpaired domains.

    A subclass names what its sets hold, for error messages that say what is
    missing in its own words, and the shape of `x`'s images (`y`'s is
    `data_shape`).

    Example:
    ```python
    class Pix2Pix(ImagePairData, GenerativeModel):
        pair_words = PairWords("source image", "the target image of each source in `x`", "(source, target) pairs",
                               "one target per source", "the sources alone")
    ```
    """

    pair_words = None

    @property
    def x_shape(self):
        """Shape of one image of `x` (default: `data_shape`)."""
        return self.data_shape

    def check_training_data(self, x, y, method):
        owner = f"{type(self).__name__}.{method}"
        words = self.pair_words
        validation.check_data_loader(owner, "x", x)
        validation.check_batch(owner, "x", x, self.x_shape, self.data_range)
        if not validation.is_array_like(x):
            return
        if not len(x):
            raise ValueError(f"{owner}: `x` must hold at least one {words.x_image}, got shape {tuple(x.shape)}")
        if y is None:
            raise ValueError(
                f"{owner}: `y` ({words.y_images}) is required: {type(self).__name__} trains on {words.pairs}, got None"
            )
        validation.check_batch(owner, "y", y, self.data_shape, self.data_range)
        if len(y) != len(x):
            raise ValueError(
                f"{owner}: `x` and `y` must hold the same number of images ({words.same_count}), "
                f"got {len(x)} and {len(y)}"
            )

    def check_batch_spec(self, data, method):
        owner = f"{type(self).__name__}.{method}"
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        validation.check_batch_spec(owner, "x", x, self.x_shape)
        if y is None:
            raise ValueError(f"{owner}: batches must be {self.pair_words.pairs}, got {self.pair_words.x_alone}")
        validation.check_batch_spec(owner, "y", y, self.data_shape)

    def unpack_batch(self, data):
        """`(x, y)` in float32 from a training batch."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError(
                f"{type(self).__name__}: batches must be {self.pair_words.pairs}, got {self.pair_words.x_alone}"
            )
        return ops.cast(x, "float32"), ops.cast(y, "float32")


class PairWords:
    """What an `ImagePairData` model's two sets hold, in the words its errors use.

    Args:
        x_image: one image of `x` ("source image").
        y_images: what `y` holds ("the target image of each source in `x`").
        pairs: what a batch is ("(source, target) pairs").
        same_count: why the sizes must match ("one target per source").
        x_alone: a batch without `y` ("the sources alone").
    """

    def __init__(self, x_image, y_images, pairs, same_count, x_alone):
        self.x_image, self.y_images, self.pairs, self.same_count, self.x_alone = (
            x_image, y_images, pairs, same_count, x_alone
        )  # fmt: skip
