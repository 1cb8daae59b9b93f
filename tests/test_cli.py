"""The `artifex-keras` command, run in-process on the 8x8 digits with tiny models."""

import contextlib
import io
import json
import math
import os
import runpy
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import artifex_keras
from artifex_keras import presets
from artifex_keras.cli import main
from artifex_keras.models import ConditionalVAE

TRAIN_ARGS = [
    "train", "vae", "--data", "digits", "--epochs", "1", "--limit", "256", "--batch-size", "64",
    "--set", "latent_dim=2", "--set", "hidden_dims=[16]", "--num-samples", "1",
]  # fmt: skip


def run(argv):
    """`(exit status, stdout, stderr)` of `main(argv)`."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def tile_pixels(size):
    """Pixels one grid cell takes for `size`-pixel images (upscaled to >= 28, plus 2 px padding)."""
    return size * -(-28 // size) + 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    output = tmp_path_factory.mktemp("cli") / "vae_digits"
    argv = [*TRAIN_ARGS, "--output", str(output)]
    code, out, err = run(argv)
    assert code == 0, err
    return output, argv, out


def test_train_writes_preset_samples_and_metrics(trained):
    output, argv, printed = trained
    for name in ("config.json", "metadata.json", "model.weights.h5", "samples.png", "metrics.json"):
        assert (output / name).is_file(), name
    assert str(output / "samples.png") in printed and "Held-out metrics: neg_elbo_nats=" in printed

    metadata = json.loads((output / "metadata.json").read_text())
    assert metadata["command"] == f"artifex_keras.cli.main({argv!r})"
    assert metadata["training"] == {
        "data": "digits", "epochs": 1, "batch_size": 64, "learning_rates": {"model": 1e-3}, "seed": 0, "limit": 256,
    }  # fmt: skip
    assert metadata["family"] == "vae" and "VAE trained on digits" in metadata["description"]
    assert metadata["backend"] == keras.backend.backend()
    assert set(metadata["versions"]) == {"artifex_keras", "keras", "python", keras.backend.backend()}
    assert isinstance(metadata["trained_on"], str) and metadata["trained_on"]
    assert metadata["train_seconds"] > 0 and metadata["seconds_per_epoch"] == metadata["train_seconds"]

    metrics = metadata["metrics"]
    assert (metrics["data"], metrics["split"], metrics["num_examples"], metrics["iwae_num_samples"]) == (
        "digits", "test", 297, 1,
    )  # fmt: skip
    assert np.isfinite(metrics["neg_elbo_nats"]) and np.isfinite(metrics["iwae_nll_bits_per_dim"])
    saved = json.loads((output / "metrics.json").read_text())
    timing = {key: metadata[key] for key in ("train_seconds", "seconds_per_epoch")}
    assert saved == {**metrics, **timing}

    config = json.loads((output / "config.json").read_text())["config"]
    assert (config["latent_dim"], config["hidden_dims"], config["input_shape"]) == (2, [16], [8, 8, 1])
    with Image.open(output / "samples.png") as image:
        assert image.size == (8 * tile_pixels(8) + 2, 8 * tile_pixels(8) + 2)


def test_train_saves_sample_grids_while_training(tmp_path):
    output = tmp_path / "watched"
    code, _, err = run([
        "train", "vae", "--data", "digits", "--epochs", "2", "--limit", "64", "--set", "latent_dim=2",
        "--set", "hidden_dims=[16]", "--num-samples", "1", "--sample-every", "1", "--output", str(output),
    ])  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in (output / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    code, _, err = run(["train", "image_classifier", "--data", "digits", "--epochs", "1", "--limit", "64",
                        "--sample-every", "1", "--output", str(tmp_path / "classifier")])  # fmt: skip
    assert code != 0 and "`sample_every` needs a generative model, got a ImageClassifier" in err


def test_train_from_a_preset_takes_its_config_and_training_section(trained, tmp_path):
    source, _, _ = trained
    output = tmp_path / "resumed"
    code, _, err = run([
        "train", str(source), "--resume", "--limit", "64", "--num-samples", "1", "--output", str(output),
        "--set", "kl_warmup_steps=5", "--set", "seed=null",
    ])  # fmt: skip
    assert code == 0, err
    metadata = json.loads((output / "metadata.json").read_text())
    training = metadata["training"]
    assert (training["data"], training["epochs"], training["batch_size"], training["limit"]) == ("digits", 1, 64, 64)
    assert training["resumed_from"] == str(source)
    assert metadata["description"] == json.loads((source / "metadata.json").read_text())["description"]
    config = json.loads((output / "config.json").read_text())["config"]
    assert (config["latent_dim"], config["kl_warmup_steps"], config["seed"]) == (2, 5, None)


def test_sample_writes_a_grid_of_the_right_size(trained, tmp_path):
    source, _, _ = trained
    code, out, _ = run(["sample", str(source), "-n", "10", "--seed", "3", "--output", str(tmp_path / "grid.png")])
    assert code == 0 and "Wrote 10 samples" in out
    with Image.open(tmp_path / "grid.png") as image:
        assert image.mode == "L"
        assert image.size == (4 * tile_pixels(8) + 2, 3 * tile_pixels(8) + 2)  # ceil(sqrt(10)) = 4 columns
    run(["sample", str(source), "-n", "10", "--seed", "3", "--output", str(tmp_path / "again.png")])
    assert (tmp_path / "grid.png").read_bytes() == (tmp_path / "again.png").read_bytes()


def test_sample_conditional_model_has_one_column_per_class(tmp_path):
    preset = tmp_path / "cvae"
    ConditionalVAE(input_shape=(8, 8, 1), num_classes=10, latent_dim=2, hidden_dims=(16,)).save_to_preset(preset)
    code, _, err = run(["sample", str(preset), "-n", "20", "--output", str(tmp_path / "c.png")])
    assert code == 0, err
    with Image.open(tmp_path / "c.png") as image:
        assert image.size == (10 * tile_pixels(8) + 2, 2 * tile_pixels(8) + 2)
    sevens = ["sample", str(preset), "-n", "20", "--labels", "7", "--columns", "5", "--output", str(tmp_path / "s.png")]
    code, _, err = run(sevens)
    assert code == 0, err
    with Image.open(tmp_path / "s.png") as image:
        assert image.size == (5 * tile_pixels(8) + 2, 4 * tile_pixels(8) + 2)
    code, _, err = run(["sample", str(preset), "--labels", "12", "--output", str(tmp_path / "bad.png")])
    assert code == 2 and "must lie in [0, 9]" in err


SAMPLE_KEYS = {"fd", "kid", "kid_std_error", "precision", "recall", "density", "coverage", "inception_score"}


def test_evaluate_prints_and_writes_json(trained, tmp_path):
    source, _, _ = trained
    target = tmp_path / "metrics" / "eval.json"
    argv = ["evaluate", str(source), "--num-samples", "40", "--iwae-samples", "1", "--seed", "3",
            "--output", str(target)]  # fmt: skip
    code, out, err = run(argv)
    assert code == 0, err
    printed = json.loads(out)
    assert printed["data"] == "digits" and printed["split"] == "test"  # data from the preset's training section
    assert printed["num_examples"] == 297 and printed["iwae_num_samples"] == 1
    assert np.isfinite(printed["neg_elbo_nats"])
    assert (printed["num_samples"], printed["seed"], printed["extractor"]) == (40, 3, "digits_classifier")
    assert SAMPLE_KEYS <= set(printed) and SAMPLE_KEYS <= set(printed["floor"])
    assert (printed["floor"]["reference_split"], printed["floor"]["num_examples"]) == ("train", 40)
    assert json.loads(target.read_text()) == printed

    code, _, err = run(["evaluate", str(source), "--num-samples", "40", "--extractor", "digits_clasifier"])
    assert code == 2 and "unknown preset 'digits_clasifier'. Did you mean 'digits_classifier'" in err


def test_train_and_evaluate_an_image_classifier(trained, tmp_path):
    output = tmp_path / "classifier"
    argv = ["train", "image_classifier", "--data", "digits", "--epochs", "1", "--limit", "128",
            "--set", "filters=[8]", "--set", "feature_dim=8", "--output", str(output)]  # fmt: skip
    code, printed, err = run(argv)
    assert code == 0, err
    assert "Held-out metrics: accuracy=" in printed and "Samples:" not in printed
    assert not (output / "samples.png").exists()
    metadata = json.loads((output / "metadata.json").read_text())
    assert metadata["family"] == "feature_extractor" and metadata["class_name"] == "ImageClassifier"
    assert set(metadata["metrics"]) == {"data", "split", "num_examples", "accuracy", "seconds"}

    code, out, err = run(["evaluate", str(output)])
    assert code == 0, err
    assert math.isclose(json.loads(out)["accuracy"], metadata["metrics"]["accuracy"], abs_tol=1.5 / 297)
    code, _, err = run(["sample", str(output), "--output", str(tmp_path / "grid.png")])
    assert code == 2 and "holds a ImageClassifier, which does not generate samples" in err

    # Its preset measures a generative model's samples.
    code, out, err = run(["evaluate", str(trained[0]), "--num-samples", "20", "--extractor", str(output)])
    assert code == 0, err
    printed = json.loads(out)
    assert (printed["extractor"], printed["feature_dim"]) == (str(output), 8) and "inception_score" in printed


def test_presets_lists_name_family_and_description(trained, tmp_path, monkeypatch):
    monkeypatch.setattr(presets, "shipped_presets_dir", lambda: tmp_path)
    code, out, _ = run(["presets"])
    assert code == 0 and out.startswith("No shipped presets")

    source, _, _ = trained
    model = presets.load_preset(source)
    model.save_to_preset(tmp_path / "vae_tiny_digits", metadata={"description": "A tiny VAE on the 8x8 digits"})
    code, out, _ = run(["presets", "--family", "vae"])
    assert code == 0
    assert out.split(None, 2) == ["vae_tiny_digits", "vae", "A tiny VAE on the 8x8 digits\n"]
    code, out, err = run(["presets", "--family", "vea"])
    assert code == 2 and "--family 'vea' is not a model family. Did you mean 'vae'?" in err


def test_presets_works_with_the_shipped_folder():
    code, out, _ = run(["presets"])
    assert code == 0
    assert out.startswith("No shipped presets") or all(name in out for name in artifex_keras.list_presets())


def test_models_lists_registered_names():
    code, out, _ = run(["models"])
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == artifex_keras.list_models()
    assert "vae  " in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "vae_fashoin_mnist", "--output", "x.png"],
         "artifex-keras sample: unknown preset 'vae_fashoin_mnist'."),
        (["evaluate", "vae"], "artifex-keras evaluate: 'vae' is a model name, not a trained preset"),
        (["train", "vea", "--data", "digits"],
         "artifex-keras train: unknown preset or model 'vea'. Did you mean 'vae'"),
        (["train", "vae", "--data", "digits", "--set", "latent_dimm=2"],
         "--set latent_dimm=2: VAE has no config field 'latent_dimm'. Did you mean 'latent_dim'"),
        (["train", "vae", "--data", "digits", "--set", "latent_dim"], "--set expects KEY=VALUE"),
        (["train", "vae", "--data", "digits", "--set", "latent_dim=-1"],
         "VAEConfig: `latent_dim` must be a positive int, got -1"),
        (["train", "vae", "--data", "digits", "--set", "likelihood=gausian"],
         "VAEConfig: `likelihood` must be one of 'bernoulli', 'gaussian', got 'gausian'"),
        # Same weight shapes as the trained model, so cheap to build.
        (["train", "vae", "--data", "digits", "--set", "input_shape=[64,1,1]", "--set", "hidden_dims=[16]",
          "--set", "latent_dim=2"],
         "'vae' takes examples of shape (64, 1, 1), but data 'digits' has shape (8, 8, 1); pick matching data "
         "or override input_shape=[8, 8, 1]"),
        (["train", "vae", "--data", "digitz"], "load: unknown dataset 'digitz'. Did you mean 'digits'?"),
        (["train", "vae", "--resume"], "`resume` needs a preset with trained weights"),
        (["train", "vae", "--data", "digits", "--learning-rate", "discriminator=1e-3"],
         "`learning_rate` keys must be phase names of VAE (model), got 'discriminator'"),
        (["train", "vae", "--data", "digits", "--learning-rate", "fast"],
         "--learning-rate expects a positive RATE or PHASE=RATE, got 'fast'"),
        (["sample", "vqvae_fashion_mnist", "--sampler", "top_kk", "--output", "x.png"],
         "unknown sampler 'top_kk'. Did you mean 'top_k'"),
        (["sample", "vae_fashion_mnist", "--sampler", "greedy", "--output", "x.png"],
         "VAE draws its samples directly and takes no `sampler`"),
        (["sample", "vqvae_fashion_mnist", "--set", "k=3", "--output", "x.png"], "needs --sampler NAME"),
    ],
)
def test_mistakes_exit_2_with_one_line(argv, message):
    code, out, err = run(argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_usage_errors_and_help_return_the_exit_status():
    assert run(["train", "vae", "--epochs", "0"])[0] == 2
    code, _, err = run(["sample", "x", "--seed", "-1", "--output", "x.png"])
    assert code == 2 and "expected a non-negative int, got '-1'" in err
    assert run(["--help"])[0] == 0
    code, out, _ = run(["--version"])
    assert code == 0 and out.strip() == f"artifex-keras {artifex_keras.__version__}"


def test_python_dash_m_runs_the_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["artifex_keras", "models"])
    with pytest.raises(SystemExit) as stop:
        runpy.run_module("artifex_keras", run_name="__main__")
    assert stop.value.code == 0
    assert "vae" in capsys.readouterr().out


def test_sample_with_a_sampler_and_its_settings(tmp_path):
    code, out, err = run(["sample", "vqvae_fashion_mnist", "-n", "4", "--sampler", "top_k", "--set", "k=3",
                          "--output", str(tmp_path / "top_k.png")])  # fmt: skip
    assert code == 0, err
    with Image.open(tmp_path / "top_k.png") as image:
        assert image.size == (2 * tile_pixels(28) + 2, 2 * tile_pixels(28) + 2)
    code, _, err = run(["sample", "vqvae_fashion_mnist", "-n", "2", "--sampler", "top_k", "--set", "kk=3",
                        "--output", str(tmp_path / "x.png")])  # fmt: skip
    assert code == 2 and "--sampler top_k:" in err and "kk" in err


def test_the_command_prints_no_tensorflow_start_up_lines(tmp_path):
    # Keras imports TensorFlow to serialise a preset even on JAX or PyTorch; its C++ start-up log must not show.
    argv = [sys.executable, "-m", "artifex_keras", *TRAIN_ARGS, "--limit", "64", "--output", str(tmp_path / "vae")]
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    for line in ("oneDNN", "absl::InitializeLog", "cpu_feature_guard"):
        assert line not in result.stderr + result.stdout
