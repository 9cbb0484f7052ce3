"""TrainConfig: unknown keys refused, precise validation messages, the train command generated from its fields."""
import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from colorcore.config import CLASS_LOSS, REGRESSION_LOSSES, STUDY_RECIPE, TrainConfig, add_arguments, flag_fields
from colorcore.finetune import config_from_options
from colorcore.units import DEFAULT_TEMPERATURE, check_temperature

ROOT = Path(__file__).resolve().parent.parent


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"data": "d", "out": "o.safetensors", **kw})


def test_unknown_and_missing_keys_are_errors():
    with pytest.raises(ValueError, match="unknown training option.*bogus"):
        TrainConfig.from_dict({"data": "x", "out": "y", "bogus": 1})
    with pytest.raises(ValueError, match="missing training option.*out"):
        TrainConfig.from_dict({"data": "x"})
    assert TrainConfig.from_dict({"data": "x", "out": "y"}) == TrainConfig(data="x", out="y")


def test_loss_defaults_to_the_models_own():
    assert _cfg().loss == "huber"
    assert _cfg(model="study_resnet18_classes").loss == CLASS_LOSS
    assert _cfg(loss="mse").loss == "mse"


@pytest.mark.parametrize(("values", "message"), [
    ({"model": "gray"}, "model must be study_resnet18, study_resnet18_classes, unet_resnet18 or "
                        "unet_resnet18_classes, got 'gray'"),
    ({"recipe": "fancy"}, "recipe must be corrected or study, got 'fancy'"),
    ({"loss": "l1"}, "loss must be mse, huber or ce, got 'l1'"),
    ({"scale": "big"}, "scale must be resize or native, got 'big'"),
    ({"optimizer": "sgd"}, "optimizer must be adamw or adam, got 'sgd'"),
    ({"schedule": "step"}, "schedule must be cosine or constant, got 'step'"),
    ({"device": "tpu"}, "device must be auto, cpu, cuda or mps, got 'tpu'"),
    ({"bf16": "yes"}, "bf16 must be auto, on or off, got 'yes'"),
    ({"loss": "ce"}, "the 'ce' loss goes with a classification model (study_resnet18_classes, unet_resnet18_classes) "
                     "and only with one; "
                     "got model 'study_resnet18', loss 'ce'"),
    ({"model": "study_resnet18_classes", "loss": "huber"}, "the 'ce' loss goes with a classification model"),
    ({"model": "study_resnet18_classes", "recipe": "study"}, "classification models use the corrected recipe"),
    ({"rebalance": 1.5}, "rebalance (lambda) must be in [0, 1], got 1.5"),
    ({"model": "study_resnet18_classes", "temperature": 2.0}, "temperature must be between 0.01 and 1.0"),
    ({"temperature": 0.2}, "temperature applies only to classification models; 'study_resnet18' is a regression"),
    ({"epochs": 0}, "epochs must be >= 1, got 0"),
    ({"size": 0}, "size must be >= 1, got 0"),
    ({"batch": 0}, "batch must be >= 1, got 0"),
    ({"val_every": 0}, "val_every must be >= 1, got 0"),
    ({"oversample_factor": 0}, "oversample_factor must be >= 1, got 0"),
    ({"size": 30}, "size and crop must be multiples of 8, got 30 and 30"),
    ({"crop": 20}, "size and crop must be multiples of 8, got 128 and 20"),
    ({"size": 64, "crop": 128}, "crop (128) cannot exceed size (64)"),
    ({"lr": 0.0}, "lr must be > 0, got 0.0"),
    ({"weight_decay": -1.0}, "weight_decay must be >= 0, got -1.0"),
    ({"warmup_epochs": -1.0}, "warmup_epochs must be >= 0, got -1.0"),
    ({"grad_clip": 0.0}, "grad_clip must be > 0 (or None for no clipping), got 0.0"),
])
def test_each_validation_message(values, message):
    with pytest.raises(ValueError) as err:
        _cfg(**values).validate()
    assert message in str(err.value)


def test_valid_configs_pass():
    _cfg().validate()
    _cfg(model="study_resnet18_classes", temperature=0.2).validate()
    _cfg(**STUDY_RECIPE).validate()
    _cfg(grad_clip=None, size=64, crop=32).validate()


def test_check_temperature():
    assert check_temperature(DEFAULT_TEMPERATURE) == 0.38
    with pytest.raises(ValueError, match="between 0.01 and 1.0"):
        check_temperature(0)


def test_regression_loss_names_match_the_loss_functions():
    from colorcore.losses import LOSSES
    assert tuple(LOSSES) == REGRESSION_LOSSES


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(argv)
    return config_from_options({f.name: getattr(args, f.name) for f in flag_fields()})


#: A value for each option, different from its default, as typed on the command line and as parsed.
_GIVEN = {"model": "study_resnet18_classes", "recipe": "corrected", "loss": "ce", "rebalance": 0.25,
          "temperature": 0.2, "train_images": 7, "val_images": 3, "test_images": 5, "epochs": 9, "size": 64,
          "scale": "native", "crop": 32, "batch": 6, "optimizer": "adam", "lr": 0.005, "weight_decay": 0.01,
          "warmup_epochs": 0.5, "schedule": "constant", "grad_clip": 2.5, "seed": 11, "group_pattern": "^(g)",
          "include": "^i", "more_data": "M", "oversample": "^o", "oversample_factor": 3, "val_every": 4, "device": "cpu",
          "bf16": "off", "threads": 2, "name": "n", "description": "a description", "domain": "histology"}


def test_every_field_but_extra_is_a_flag_and_its_value_reaches_the_config(tiny_checkpoint):
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    assert [f.name for f in flag_fields()] == [n for n in names if n != "extra"]
    given = {**_GIVEN, "init_from": str(tiny_checkpoint)}  # its settings sit under every value given here
    assert set(given) == set(names) - {"data", "out", "extra"}  # a new field needs a value here
    argv = ["--data", "D", "--out", "O"]
    for name, value in given.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    cfg = _parse(argv)
    assert dataclasses.asdict(cfg) == {"data": "D", "out": "O", **given, "extra": {}}
    assert cfg != TrainConfig(data="D", out="O")


def test_flags_default_to_the_config_defaults_and_the_study_preset_sits_under_explicit_values():
    assert _parse(["--data", "D", "--out", "O"]) == TrainConfig(data="D", out="O")
    study = _parse(["--data", "D", "--out", "O", "--recipe", "study", "--lr", "0.02"])
    assert study == TrainConfig(data="D", out="O", **{**STUDY_RECIPE, "lr": 0.02})
    assert _parse(["--data", "D", "--out", "O", "--model", "study_resnet18_classes"]).loss == CLASS_LOSS
    with pytest.raises(SystemExit):
        _parse(["--data", "D"])


def test_a_fine_tuning_config_is_built_over_the_parent_preset_its_caller_read():
    given = {"data": "D", "out": "O", "init_from": "no-such-checkpoint", "recipe": "study", "epochs": 3}
    parent = {"model": "study_resnet18_classes", "recipe": "corrected", "lr": 3e-4, "epochs": 60}
    cfg = TrainConfig.from_options(given, parent)  # the checkpoint is never read: it does not exist
    assert (cfg.model, cfg.recipe, cfg.lr, cfg.epochs, cfg.loss) == ("study_resnet18_classes", "study", 3e-4, 3,
                                                                      CLASS_LOSS)
    assert cfg.optimizer == TrainConfig(data="D", out="O").optimizer  # not the study recipe's preset
    with pytest.raises(ValueError, match="parent's preset"):
        TrainConfig.from_options(given)
    with pytest.raises(ValueError, match="parent's preset"):
        TrainConfig.from_options({"data": "D", "out": "O"}, parent)


def test_train_help_imports_no_torch():
    code = ("import sys\nfrom colorcore.cli import build_parser\n"
            "try:\n    build_parser().parse_args(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "--oversample-factor" in run.stdout and "--temperature" in run.stdout
