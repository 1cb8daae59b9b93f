# # Autoregressive models with artifex_keras
#
# An **autoregressive model** factorises a density exactly:
# `p(x) = Π_t p(x_t | x_<t)`, one categorical distribution per step. Training is
# plain cross entropy with teacher forcing, the log-likelihood is exact, and
# sampling draws one element at a time. The family:
#
# * `TransformerLM`: a decoder-only Transformer over characters, bytes or BPE tokens,
#   with rotary positions and a key/value cache for generation;
# * `PixelCNN`: gated masked convolutions over 8-bit pixels (no blind spot);
# * `WaveNet`: dilated causal convolutions over mu-law audio, with fast generation.
#
# Every one samples with the token samplers of `ak.samplers` (greedy, temperature,
# top-k, top-p; beam search for text). `KERAS_BACKEND=jax python guides/autoregressive.py`;
# set `ARTIFEX_GUIDE_QUICK=1` for a seconds-long run.

import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np

import artifex_keras as ak

QUICK = os.environ.get("ARTIFEX_GUIDE_QUICK") == "1"

# ## Text: a character-level Transformer on Shakespeare
#
# `load_text` holds out whole plays for validation. A character tokenizer built
# from the training text is stored with the model, so presets carry it.

train_text = ak.data.load_text("shakespeare", split="train")
valid_text = ak.data.load_text("shakespeare", split="validation")
if QUICK:
    train_text, valid_text = train_text[:20000], valid_text[:4000]
tokenizer = ak.tokenizers.CharacterTokenizer.from_text(train_text + valid_text)
context = 32 if QUICK else 128
lm = ak.models.TransformerLM(
    tokenizer=tokenizer,
    context_length=context,
    embedding_dim=32 if QUICK else 128,
    num_layers=1 if QUICK else 4,
    num_heads=2 if QUICK else 4,
    hidden_dim=64 if QUICK else 512,
    seed=0,
)
windows = ak.data.text_windows(tokenizer.encode(train_text), context)
lm.compile()
lm.fit(windows, epochs=1 if QUICK else 5, batch_size=64, verbose=2)
print("validation bits per character:", round(lm.bits_per_character(valid_text), 3))

# Generation runs one compiled loop; the key/value cache makes each new token
# one block call instead of a pass over the whole sequence. Greedy decoding is
# the same with and without the cache, token for token.

length = 24 if QUICK else 200
for use_cache in (True, False):
    start = time.perf_counter()
    texts = lm.generate(2, prompt="ROMEO:", max_length=length, sampler="greedy", use_cache=use_cache, seed=0)
    print(f"use_cache={use_cache}: {time.perf_counter() - start:.2f} s", repr(texts[0]))
print(lm.generate(2, prompt="ROMEO:", max_length=length, sampler=ak.samplers.TopPSampler(p=0.9), seed=0))

# The shipped preset `transformer_shakespeare_char` is this model at full size,
# trained for two epochs on a CPU; its metadata records the held-out plays' bits
# per character and the command that trained it.

shakespeare = ak.from_preset("transformer_shakespeare_char")
recorded = ak.preset_metadata("transformer_shakespeare_char")["metrics"]
print("preset validation bits/char:", round(recorded["bits_per_character"], 3))
if not QUICK:
    print(shakespeare.generate(1, prompt="ROMEO:", max_length=200, sampler=ak.samplers.TopPSampler(p=0.9), seed=0)[0])

# ## Images: PixelCNN
#
# A PixelCNN models the 256 intensity levels of each pixel given the pixels above
# and to the left; `bits_per_dim` is its exact negative log-likelihood per pixel.

x_train, _ = ak.data.load("digits", split="train", limit=256 if QUICK else None)
x_test, _ = ak.data.load("digits", split="test", limit=128 if QUICK else None)
pixelcnn = ak.models.PixelCNN(input_shape=(8, 8, 1), filters=16 if QUICK else 64, num_layers=2 if QUICK else 6, seed=0)
pixelcnn.compile()
pixelcnn.fit(x_train, epochs=1 if QUICK else 30, batch_size=64, verbose=2)
print("PixelCNN test bits/dim:", round(float(pixelcnn.bits_per_dim(x_test).mean()), 3))
digits = pixelcnn.generate(16, seed=0, sampler=ak.samplers.RandomSampler(temperature=0.9))

# `pixelcnn_fashion_mnist` is a gated PixelCNN trained on Fashion-MNIST; its exact
# test bits/dim is in its metadata.

clothes_model = ak.from_preset("pixelcnn_fashion_mnist")
clothes = ak.data.load("fashion_mnist", split="test", with_labels=False, limit=16)
print("preset bits/dim on 16 test images:", round(float(clothes_model.bits_per_dim(clothes).mean()), 3))

# ## Audio: WaveNet
#
# WaveNet predicts the mu-law code of each audio sample from the previous ones.
# The shipped preset was trained on 24 s of speech at 16 kHz; its test
# likelihood is in bits per sample (8 for a uniform model over 256 codes).

wavenet = ak.from_preset("wavenet_speech")
speech = ak.data.load("speech", split="test", with_labels=False, limit=2)
bits = -wavenet.log_prob(speech, batch_size=2) / (speech.shape[1] * np.log(2))
print("WaveNet test bits per sample:", bits.round(3), "receptive field:", wavenet.receptive_field, "samples")

# Fast generation keeps, for each layer, only the few past activations its
# dilation needs; `use_cache=False` reruns the network over the whole window at
# every step and draws exactly the same samples.

small = ak.models.WaveNet(input_shape=(256,), dilations=(1, 2, 4, 8), residual_channels=8, skip_channels=8, seed=0)
for use_cache in (True, False):
    start = time.perf_counter()
    audio = small.generate(2, seed=0, use_cache=use_cache)
    print(f"WaveNet use_cache={use_cache}: {time.perf_counter() - start:.2f} s for 2 x 256 samples")
