"""`ImagePool`: filling, swapping with probability 1/2, and the pool CycleGAN's discriminators train on."""

import keras
import numpy as np

from artifex_keras.models.gan import CycleGAN
from artifex_keras.models.gan.image_pool import ImagePool
from tests.models.gan.test_cyclegan import TINY
from tests.models.gan.test_cyclegan import A
from tests.models.gan.test_cyclegan import B

SHAPE = (2, 2, 1)


def _numpy(value):
    return np.array(keras.ops.convert_to_numpy(value))


def _pool(size):
    owner = keras.Model()
    return ImagePool(owner, size, SHAPE, "pool"), keras.random.SeedGenerator(0)


def _images(rng, count):
    return rng.uniform(0.0, 1.0, (count, *SHAPE)).astype("float32")


def test_a_filling_pool_stores_and_returns_images_as_they_are():
    rng = np.random.default_rng(0)
    pool, seed = _pool(4)
    first, second = _images(rng, 3), _images(rng, 3)
    np.testing.assert_array_equal(_numpy(pool.query(first, seed)), first)
    np.testing.assert_array_equal(_numpy(pool.images)[:3], first)
    assert int(_numpy(pool.count)) == 3
    # One slot left: the first image fills it; the pool was not full, so nothing is swapped.
    np.testing.assert_array_equal(_numpy(pool.query(second, seed)), second)
    np.testing.assert_array_equal(_numpy(pool.images), np.concatenate([first, second[:1]]))
    assert int(_numpy(pool.count)) == 4


def test_a_full_pool_swaps_half_of_the_images_for_stored_ones_and_keeps_the_new_ones():
    rng = np.random.default_rng(1)
    pool, seed = _pool(8)
    pool.query(_images(rng, 8), seed)
    swapped = total = 0
    for _ in range(60):
        before = _numpy(pool.images)
        images = _images(rng, 3)
        returned = _numpy(pool.query(images, seed))
        after = _numpy(pool.images)
        for row in range(3):
            total += 1
            if np.array_equal(returned[row], images[row]):
                continue
            swapped += 1
            # A stored image came back, and the new image took its slot.
            slot = [k for k in range(8) if np.array_equal(before[k], returned[row])]
            assert len(slot) == 1 and np.array_equal(after[slot[0]], images[row])
        # Every slot holds an old image or one of the batch: nothing else is written.
        for k in range(8):
            assert np.array_equal(after[k], before[k]) or any(np.array_equal(after[k], image) for image in images)
    # Binomial(180, 1/2): within 4 standard deviations (6.7) of 90.
    assert abs(swapped - total / 2) < 4 * np.sqrt(total / 4), (swapped, total)


def test_query_without_update_leaves_the_pool_as_it_is():
    rng = np.random.default_rng(2)
    pool, seed = _pool(4)
    pool.query(_images(rng, 4), seed)
    before = _numpy(pool.images)
    pool.query(_images(rng, 4), seed, update=False)
    np.testing.assert_array_equal(_numpy(pool.images), before)


def test_cyclegan_discriminators_train_on_pooled_translations_and_keras_files_keep_the_pool(tmp_path):
    model = CycleGAN(**TINY, pool_size=6)
    model.compile()
    translated_b, translated_a = model.translate(A[:4]), model.translate(B[:4], direction="b_to_a")
    model.fit(A[:4], B[:4], epochs=1, batch_size=4, shuffle=False, verbose=0)
    # The discriminator phase runs first, on the translations of the generators before their update.
    images = {name: _numpy(model.pools[name].images) for name in "ab"}
    np.testing.assert_allclose(images["b"][:4], translated_b, atol=1e-5)
    np.testing.assert_allclose(images["a"][:4], translated_a, atol=1e-5)
    assert int(_numpy(model.pools["b"].count)) == 4 and not images["b"][4:].any()
    path = tmp_path / "cyclegan.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    for name in "ab":
        np.testing.assert_array_equal(_numpy(restored.pools[name].images), images[name])
        assert int(_numpy(restored.pools[name].count)) == 4
    assert CycleGAN(**TINY, pool_size=0).pools is None
