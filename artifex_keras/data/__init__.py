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

from .audio import audio_windows
from .audio import load_audio
from .audio import speech_path
from .loaders import DatasetUnavailableError
from .loaders import class_names
from .loaders import list_datasets
from .loaders import load
from .loaders import scale_images
from .text import list_text_datasets
from .text import list_works
from .text import load_text
from .text import text_windows
from .toy import checkerboard
from .toy import circles
from .toy import conditional_entropy
from .toy import eight_gaussians
from .toy import entropy
from .toy import pinwheel
from .toy import spirals
from .toy import two_moons
from .translation import edge_map
from .translation import list_translation_datasets
from .translation import load_translation
from .translation import two_domains

__all__ = [
    "DatasetUnavailableError",
    "audio_windows",
    "checkerboard",
    "circles",
    "class_names",
    "eight_gaussians",
    "conditional_entropy",
    "edge_map",
    "entropy",
    "list_datasets",
    "list_text_datasets",
    "list_translation_datasets",
    "list_works",
    "load_audio",
    "load",
    "load_text",
    "load_translation",
    "pinwheel",
    "scale_images",
    "speech_path",
    "spirals",
    "text_windows",
    "two_domains",
    "two_moons",
]
