"""Image datasets as float32 NumPy arrays for training and evaluating generative models.

Importing this package needs only NumPy; scikit-learn, keras and
tensorflow_datasets are imported when a dataset needs them.

Example:
```python
import artifex_keras as ak

x, y = ak.data.load("fashion_mnist", split="test")  # (10000, 28, 28, 1) in [0, 1], int32 labels
ak.data.class_names("fashion_mnist")[y[0]]          # 'Ankle boot'
```
"""

from .loaders import DatasetUnavailableError
from .loaders import class_names
from .loaders import list_datasets
from .loaders import load
from .loaders import scale_images

__all__ = ["DatasetUnavailableError", "class_names", "list_datasets", "load", "scale_images"]
