"""Image grids: geometry, value mapping, upscaling, PNG output and errors."""

import numpy as np
import pytest
from PIL import Image

from artifex_keras.images import PAD_VALUE
from artifex_keras.images import image_grid
from artifex_keras.images import save_image_grid
from artifex_keras.images import save_point_density


def test_grayscale_grid_geometry_and_tile_placement():
    images = np.random.default_rng(0).random((10, 8, 6, 1)).astype("float32")
    grid = image_grid(images, columns=4, padding=2)
    assert grid.dtype == np.uint8
    # 3 rows of (8 + 2) plus the outer 2; 4 columns of (6 + 2) plus 2.
    assert grid.shape == (3 * 10 + 2, 4 * 8 + 2)
    expected = np.round(images[5, ..., 0] * 255).astype(np.uint8)
    top, left = 2 + 1 * 10, 2 + 1 * 8  # tile 5 is row 1, column 1
    np.testing.assert_array_equal(grid[top : top + 8, left : left + 6], expected)
    assert np.all(grid[0:2] == PAD_VALUE)
    # Two empty cells at the end of the last row are padding colour.
    assert np.all(grid[22:30, 2 + 2 * 8 :] == PAD_VALUE)


def test_default_columns_rgb_and_value_range():
    images = np.stack([np.full((4, 4, 3), -1.0), np.full((4, 4, 3), 1.0), np.full((4, 4, 3), 0.0)])
    grid = image_grid(images, value_range=(-1, 1), padding=1)
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1, 3)  # ceil(sqrt(3)) = 2 columns
    assert grid[1, 1, 0] == 0 and grid[1, 6, 0] == 255 and grid[6, 1, 0] == 128


def test_values_outside_the_range_are_clipped():
    grid = image_grid(np.array([[[[-3.0]], [[7.0]]]]), padding=0)
    np.testing.assert_array_equal(grid, [[0], [255]])


def test_scale_upscales_with_nearest_neighbour():
    images = np.arange(4, dtype="float32").reshape(1, 2, 2, 1) / 3.0
    grid = image_grid(images, scale=3, padding=0)
    assert grid.shape == (6, 6)
    np.testing.assert_array_equal(grid[:3, :3], np.full((3, 3), 0))
    np.testing.assert_array_equal(grid[3:, 3:], np.full((3, 3), 255))


def test_save_image_grid_upscales_small_images(tmp_path):
    path = save_image_grid(np.random.rand(64, 8, 8, 1), tmp_path / "sub" / "grid.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "L"
        # 8x8 tiles become 32x32 (the smallest multiple of 8 that is >= 28), 2 px padding.
        assert image.size == (8 * 34 + 2, 8 * 34 + 2)


def test_save_image_grid_rgb_explicit_scale(tmp_path):
    path = save_image_grid(np.random.rand(3, 30, 20, 3), tmp_path / "rgb.png", columns=3, scale=1)
    with Image.open(path) as image:
        assert image.mode == "RGB"
        assert image.size == (3 * 22 + 2, 32 + 2)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((28, 28, 1), "must have shape \\(N, H, W, C\\).*got shape \\(28, 28, 1\\)"),
        ((2, 8, 8, 2), "must have shape.*C 1 \\(grayscale\\) or 3 \\(RGB\\), got shape \\(2, 8, 8, 2\\)"),
        ((0, 8, 8, 1), "must have shape.*N, H, W > 0.*got shape \\(0, 8, 8, 1\\)"),
    ],
)
def test_bad_shapes_are_named(shape, message):
    with pytest.raises(ValueError, match="image_grid: `images` " + message):
        image_grid(np.zeros(shape))


def test_bad_arguments_are_named(tmp_path):
    images = np.zeros((4, 8, 8, 1))
    broken = images.copy()
    broken[2, 3, 4, 0] = np.nan
    with pytest.raises(ValueError, match="image_grid: `images` must be finite, got 1 NaN"):
        image_grid(broken)
    with pytest.raises(ValueError, match="image_grid: `columns` must be a positive int, got 0"):
        image_grid(images, columns=0)
    with pytest.raises(ValueError, match="image_grid: `value_range` must be finite with high > low, got \\(1, 0\\)"):
        image_grid(images, value_range=(1, 0))
    with pytest.raises(ValueError, match="save_image_grid: `value_range` must be a pair"):
        save_image_grid(images, tmp_path / "x.png", value_range=(0, 1, 2))
    with pytest.raises(ValueError, match="save_image_grid: `scale` must be a positive int, got 1.5"):
        save_image_grid(images, tmp_path / "x.png", scale=1.5)


def test_save_point_density_draws_a_log_histogram_with_y_up(tmp_path):
    points = np.array([[-0.9, 0.9]] * 9 + [[0.9, -0.9]], dtype="float32")
    path = save_point_density(points, tmp_path / "points.png", extent=(-1.0, 1.0), pixels=4)
    picture = np.asarray(Image.open(path))
    assert picture.shape == (4, 4)
    # Top left holds 9 points (black), bottom right 1 point (grey: log 2 / log 10 of black), the rest white.
    assert picture[0, 0] == 0 and picture[3, 3] == round(255 * (1 - np.log(2) / np.log(10)))
    assert (picture == 255).sum() == 14
    with pytest.raises(ValueError, match="`points` must have shape \\(N, D\\) with D >= 2"):
        save_point_density(np.zeros((3, 1)), tmp_path / "bad.png")
