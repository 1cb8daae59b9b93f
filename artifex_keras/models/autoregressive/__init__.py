"""The autoregressive family: PixelCNN, TransformerLM and WaveNet."""

from artifex_keras.models.autoregressive.pixelcnn import PixelCNN
from artifex_keras.models.autoregressive.pixelcnn import PixelCNNConfig
from artifex_keras.models.autoregressive.transformer_lm import TransformerLM
from artifex_keras.models.autoregressive.transformer_lm import TransformerLMConfig
from artifex_keras.models.autoregressive.wavenet import WaveNet
from artifex_keras.models.autoregressive.wavenet import WaveNetConfig

__all__ = ["PixelCNN", "PixelCNNConfig", "TransformerLM", "TransformerLMConfig", "WaveNet", "WaveNetConfig"]
