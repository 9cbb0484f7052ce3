"""Export a checkpoint's network to ONNX with dynamic batch, height and width.

The ONNX graph maps the recipe's encoded lightness ``(N, 1, H, W)`` (H, W multiples of 8) to
encoded a*b* ``(N, 2, H, W)``, exactly like the PyTorch model; the encoding (recipe, L* and a*b*
scales) is written into the file's metadata so another runtime can rebuild images. Needs the
``onnx`` package (and ``onnxruntime`` to run the result).
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import torch

from .checkpoints import Checkpoint, GRAY_BASELINE
from .lab import AB_SCALE, L_CENTER, L_SCALE
from .units import SIZE_MULTIPLE

OPSET = 17


def export_onnx(checkpoint: Checkpoint, path: str | os.PathLike) -> Path:
    """Write ``checkpoint``'s network as ONNX to ``path``; returns the path.

    Raises
    ------
    ValueError
        For the built-in ``gray`` baseline, which has no network.
    """
    import onnx

    if checkpoint.name == GRAY_BASELINE:
        raise ValueError("the gray baseline has no network to export")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = checkpoint.model.to("cpu").eval()
    example = torch.zeros(1, 1, 4 * SIZE_MULTIPLE, 6 * SIZE_MULTIPLE)
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():  # the TorchScript exporter warns about its own deprecation and
        warnings.simplefilter("ignore")  # about the model's shape checks, which tracing drops
        torch.onnx.export(model, (example,), str(path), input_names=["lightness"], output_names=["ab"],
                          dynamic_axes={"lightness": axes, "ab": axes}, opset_version=OPSET, dynamo=False)
    proto = onnx.load(str(path))
    info = {"colorcore_checkpoint": checkpoint.name, "recipe": checkpoint.recipe,
            "input": "corrected: (L* - %g) / %g; study: rgb2gray luminance in [0, 1]" % (L_CENTER, L_SCALE),
            "output": "corrected: a*b* / %g; study: (a*b* + 128) / 255" % AB_SCALE,
            "size_multiple": str(SIZE_MULTIPLE), "model": json.dumps(checkpoint.meta["model"])}
    if model.takes_temperature:
        info["temperature"] = f"{model.temperature:g} (annealed mean, fixed in the exported graph)"
    for key, value in info.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
    return path
