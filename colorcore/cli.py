"""Command line: ``python -m colorcore train | colorize | evaluate | checkpoints | analyze | export | blend | jobs``.

``jobs list`` and ``jobs clean --older-than DAYS [--checkpoints] [--dry-run]`` are the hosting admin's: the
Train page's jobs and the checkpoints users trained (:mod:`colorcore.app.jobadmin`).

Exit status: 0 on success, 2 on bad input or usage (one line per problem on
stderr, no traceback), 130 when interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Only modules that import without torch are imported here (``--help`` and ``checkpoints`` stay fast);
# each command imports what its work needs.
from .checkpoints import (GRAY_BASELINE, CheckpointError, list_catalog, load_checkpoint, resolve, set_recommended,
                          store_metrics, update_metadata)
from .metadata import model_spec, summary
from .io import DEFAULT_MAX_PIXELS, ImageError, atomic_write_bytes, read_image
from .units import DEFAULT_WORKING_SIZE, check_temperature

TEMPERATURE_HELP = ("annealed-mean temperature of classification (vivid) checkpoints, 0.01-1 "
                    "(default: the checkpoint's, 0.38; lower is more vivid)")

#: Errors that are the user's to fix: reported in one line, exit status 2.  OSError covers files and
#: folders that cannot be written (a path under a file, no permission, a full disk).
USER_ERRORS = (ImageError, CheckpointError, ValueError, OSError)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _err(message: str) -> None:
    print(f"colorcore: error: {message}", file=sys.stderr)


def user_message(err: Exception) -> str:
    """One line for a user error; an operating-system error names its path and what to do."""
    if not isinstance(err, OSError) or not err.strerror:
        return str(err)
    if isinstance(err, FileNotFoundError) and err.filename:
        return f"{err.filename}: no such file or folder"
    path = f"{err.filename}: " if err.filename else ""
    return f"{path}{err.strerror}; check the path, its permissions and the free disk space"


def _at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


#: The smallest working size a network can run at.
MIN_WORKING_SIZE = 8


def _progress():
    """A progress bar wrapper for long loops when stderr is a terminal, else None."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return lambda it: tqdm(it, unit="img")


# ---------------------------------------------------------------- train
def _add_train(sub) -> None:
    from .config import add_arguments  # one flag per TrainConfig field (torch-free)

    p = sub.add_parser("train", help="train a checkpoint on a folder of colour images")
    add_arguments(p)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last epoch")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args) -> int:
    from .config import options_of
    from .finetune import config_from_options
    from .train import resume_run, train

    cfg = config_from_options(options_of(args))
    try:
        (resume_run if args.resume else train)(cfg)
    except KeyboardInterrupt:
        _err(f"interrupted; continue with the same command plus --resume ({cfg.out})")
        return 130
    return 0


# ---------------------------------------------------------------- colorize
def _add_colorize(sub) -> None:
    p = sub.add_parser("colorize", help="colorize images at full resolution")
    p.add_argument("images", nargs="+",
                   help="image files (PNG, JPEG, BMP, TIFF 8/16/32-bit or float incl. OME/ImageJ stacks, Zeiss CZI)")
    p.add_argument("--checkpoint", required=True, help="catalog name (see `checkpoints`) or file path")
    p.add_argument("--out", required=True, help="output folder; writes <input stem>.png")
    p.add_argument("--working-size", type=_at_least(MIN_WORKING_SIZE), default=DEFAULT_WORKING_SIZE,
                   help="long side of the image the network sees (default %(default)s)")
    p.add_argument("--temperature", type=float, help=TEMPERATURE_HELP)
    p.add_argument("--tiff16", action="store_true",
                   help="also write a 16-bit RGB OME-TIFF <stem>.tif (pixel size and provenance kept)")
    p.add_argument("--channel", help="channel of multi-channel files: index or name from the metadata (default 0)")
    p.add_argument("--z", help="plane of z-stacks: index or 'max' for a maximum-intensity projection "
                               "(default: the middle plane)")
    p.add_argument("--t", type=_at_least(0), help="time point of time series (default 0)")
    p.add_argument("--page", type=_at_least(0), help="page of plain multi-page TIFFs (default the first)")
    p.add_argument("--max-pixels", type=_at_least(1), default=DEFAULT_MAX_PIXELS,
                   help="refuse planes with more pixels (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs (never inputs)")
    p.add_argument("--report", metavar="FILE",
                   help="write a JSON list, one entry per input: file, checkpoint, in_domain, domain_score "
                        "(1 = the edge of the checkpoint's training domain) and mean_confidence")
    p.add_argument("--confidence", action="store_true",
                   help="also write <stem>.confidence.png: how sure the network is of each pixel's colour "
                        "(white = sure; classification checkpoints only)")
    p.set_defaults(func=_cmd_colorize)


def _output_paths(image: Path, out_dir: Path, tiff16: bool, confidence: bool) -> list[Path]:
    """The files ``colorize`` writes for ``image``: the PNG, then the TIFF and the confidence map if asked."""
    stem = image.stem[:-4] if image.stem.lower().endswith(".ome") else image.stem  # cells.ome.tif -> cells
    return ([out_dir / f"{stem}.png"] + ([out_dir / f"{stem}.tif"] if tiff16 else [])
            + ([out_dir / f"{stem}.confidence.png"] if confidence else []))


def _check_targets(targets: list[Path], inputs: set, claimed: set, overwrite: bool) -> None:
    """Raise unless every output may be written: not an input, not another input's output, not existing."""
    for target in targets:
        resolved = target.resolve()
        if resolved in inputs:
            raise ValueError(f"output {target} would overwrite an input; choose another --out")
        if resolved in claimed:
            raise ValueError(f"output {target} is also the output of another input with the same name")
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists; pass --overwrite to replace it")


def _cmd_colorize(args) -> int:
    from .infer import check_temperature_for, colorize
    from .io import RESULT_FORMATS, encode_confidence, encode_result, parse_channel, parse_z

    plane = {"channel": None if args.channel is None else parse_channel(args.channel),
             "z": None if args.z is None else parse_z(args.z), "t": args.t}
    ckpt = load_checkpoint(args.checkpoint)
    check_temperature_for(ckpt, args.temperature)
    if args.confidence and not model_spec(ckpt.meta).takes_temperature:
        raise ValueError(f"--confidence: {ckpt.name} is a regression checkpoint, which gives no per-pixel "
                         "confidence (classification checkpoints such as *-vivid do)")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)  # a path under a file or a read-only place fails here, once
    inputs = {Path(p).resolve() for p in args.images}
    claimed: set = set()
    failures = 0
    report = []
    for name in args.images:
        src = Path(name)
        try:
            targets = _output_paths(src, out_dir, args.tiff16, args.confidence)
            _check_targets(targets, inputs, claimed, args.overwrite)
            image, info = read_image(src, page=args.page, max_pixels=args.max_pixels, **plane)
            result = colorize(image, ckpt, working_size=args.working_size, temperature=args.temperature)
            for target, fmt in zip(targets, RESULT_FORMATS):
                atomic_write_bytes(target, encode_result(result.rgb, info, ckpt.name, fmt))
            if args.confidence:
                atomic_write_bytes(targets[-1], encode_confidence(result.confidence, info, ckpt.name))
            claimed.update(t.resolve() for t in targets)
            report.append({"file": str(src), "checkpoint": ckpt.name, **result.report()})
            found = [f"{info.width} x {info.height}", info.dtype, info.selection, info.normalization,
                     f"pixel {info.pixel_size}" if info.pixel_size else "", result.domain_note(ckpt)]
            print(f"{src} -> {targets[0]} ({', '.join(f for f in found if f)})")
        except USER_ERRORS as err:
            failures += 1
            message = user_message(err)
            _err(message if src.name in message else f"{src}: {message}")
            report.append({"file": str(src), "checkpoint": ckpt.name, "error": message})
    if args.report:
        atomic_write_bytes(args.report, (json.dumps(report, indent=2) + "\n").encode())
    return 2 if failures else 0


# ---------------------------------------------------------------- evaluate
def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="compare checkpoints with the originals of colour images")
    p.add_argument("--data", required=True, help="folder of colour images (searched recursively)")
    p.add_argument("--checkpoint", action="append", required=True,
                   help="catalog name, path, or 'gray' (baseline); repeat for several")
    p.add_argument("--split", choices=["all", "test", "val"], default="all",
                   help="only the files of this split as recorded in the first non-gray checkpoint")
    p.add_argument("--limit", type=_at_least(1), help="evaluate only the first N files (sorted)")
    p.add_argument("--working-size", type=_at_least(MIN_WORKING_SIZE), default=DEFAULT_WORKING_SIZE,
                   help="long side of the image the network sees (default %(default)s)")
    p.add_argument("--temperature", type=float, help=TEMPERATURE_HELP)
    p.add_argument("--json", help="write the metrics as JSON to this file")
    p.add_argument("--store", action="store_true",
                   help="store the metrics in each checkpoint's metadata under metrics[<split>]")
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args) -> int:
    from .evaluate import evaluate, evaluation_files, format_results

    checkpoints = [load_checkpoint(c) for c in args.checkpoint]
    files = evaluation_files(args.data, args.split, checkpoints)
    if args.limit is not None:
        files = files[: args.limit]
    progress = _progress()
    if args.temperature is not None:
        check_temperature(args.temperature)
    results, problems = evaluate(args.data, files, checkpoints, working_size=args.working_size,
                                 temperature=args.temperature, progress=progress)
    for line in problems:
        _err(line)
    print(format_results(results))
    if args.json:
        atomic_write_bytes(args.json, (json.dumps(results, indent=2) + "\n").encode())
    if args.store:
        for given, ckpt in zip(args.checkpoint, checkpoints):
            if ckpt.name != GRAY_BASELINE:
                stored = {**results[ckpt.name], "data": str(args.data)}
                if ckpt.model.takes_temperature:
                    stored["temperature"] = args.temperature or ckpt.model.temperature
                store_metrics(given, args.split, stored)
    return 2 if problems else 0


# ---------------------------------------------------------------- checkpoints
def _add_checkpoints(sub) -> None:
    p = sub.add_parser("checkpoints", help="list the catalog's checkpoints (shipped and user-trained)")
    p.add_argument("--json", action="store_true", help="print the summaries as JSON")
    p.add_argument("--recommend", metavar="NAME",
                   help="mark catalog checkpoint NAME as its domain's recommended one (the others of that "
                        "domain are unmarked), then list")
    p.add_argument("--fit-domain", metavar="NAME",
                   help="fit the out-of-domain check of checkpoint NAME (catalog name or path) from its recorded "
                        "training and validation files and store it in its metadata (weights unchanged), then list")
    p.add_argument("--data-root", metavar="DIR",
                   help="with --fit-domain: the folder holding the data set NAME was trained on, under the name it "
                        "records (default: the recorded folder itself)")
    p.set_defaults(func=_cmd_checkpoints)


def _fit_domain(name: str, data_root: str | None) -> None:
    from .domain import fit_checkpoint

    ckpt = load_checkpoint(name)
    check = fit_checkpoint(ckpt, data_root, progress=_progress())
    update_metadata(resolve(name), domain_check=check)
    print(f"{ckpt.name}: domain check fitted on {check['fitted_on']['train_images']} training images; "
          f"threshold from {check['fitted_on']['val_images']} validation images, "
          f"{check['val_in_domain']:.1%} of them in domain", file=sys.stderr)


def _cmd_checkpoints(args) -> int:
    if args.data_root and not args.fit_domain:
        raise ValueError("--data-root goes with --fit-domain NAME")
    if args.fit_domain:
        _fit_domain(args.fit_domain, args.data_root)
    if args.recommend:
        for name in set_recommended(args.recommend):
            print(f"updated {name}", file=sys.stderr)
    rows = [summary(m) for m in list_catalog()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no checkpoints in the catalog")
        return 0
    width = max(18, *(len(str(r["name"])) for r in rows))
    print(f"{'name':<{width}} {'domain':<13} {'recipe':<10} {'loss':<6} {'train':>6} {'epochs':>6} "
          f"{'test psnr':>9} {'ab_rmse':>8}  description")
    for r in rows:
        psnr_s = f"{r['test_psnr']:.2f}" if r["test_psnr"] is not None else "-"
        rmse_s = f"{r['test_ab_rmse']:.2f}" if r["test_ab_rmse"] is not None else "-"
        print(f"{r['name']:<{width}} {r['domain']:<13} {r['recipe']:<10} {r['loss']:<6} {r['train_images'] or '-':>6} "
              f"{r['epochs']:>6} {psnr_s:>9} {rmse_s:>8}  {r['description']}")
    return 0


# ---------------------------------------------------------------- analyze
def _add_analyze(sub) -> None:
    p = sub.add_parser("analyze", help="dataset analysis of a folder of images (sizes, gray, duplicates, colours)")
    p.add_argument("--data", required=True, help="folder of images (searched recursively)")
    p.add_argument("--json", help="write the full statistics as JSON to this file")
    p.add_argument("--max-images", type=_at_least(1), default=2000,
                   help="analyse a seeded sample of this many images when there are more (default %(default)s)")
    p.set_defaults(func=_cmd_analyze)


def _cmd_analyze(args) -> int:
    from .analysis import folder_stats, summary_lines, to_json

    stats = folder_stats(args.data, max_images=args.max_images)
    print(f"{args.data}:")
    for line in summary_lines(stats):
        print(f"  {line}")
    if args.json:
        atomic_write_bytes(args.json, (json.dumps(to_json(stats), indent=2) + "\n").encode())
    return 0


# ---------------------------------------------------------------- export
def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint's network to ONNX (dynamic height and width)")
    p.add_argument("--checkpoint", required=True, help="catalog name or file path")
    p.add_argument("--onnx", required=True, help="ONNX file to write")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args) -> int:
    from .export import export_onnx

    if Path(args.onnx).exists():
        raise FileExistsError(f"{args.onnx} exists; choose another --onnx path")
    print(f"wrote {export_onnx(load_checkpoint(args.checkpoint), args.onnx)}")
    return 0


# ---------------------------------------------------------------- blend
def _add_blend(sub) -> None:
    p = sub.add_parser("blend", help="blend a classification (vivid) and a regression (faithful) checkpoint "
                       "into one; weight and temperature chosen on their validation split")
    p.add_argument("--vivid", required=True, help="classification checkpoint (catalog name or file)")
    p.add_argument("--faithful", required=True, help="regression checkpoint trained on the same split")
    p.add_argument("--data", required=True, help="the folder both were trained on (its validation files are read)")
    p.add_argument("--out", required=True, help="checkpoint file to write (.safetensors)")
    p.add_argument("--name", default="", help="checkpoint name (default: the out file's stem)")
    p.add_argument("--description", default="", help="one line shown in listings and the app")
    p.add_argument("--min-colourfulness", type=float,
                   help="the blend keeps at least this share of the originals' colourfulness (default 0.8)")
    p.set_defaults(func=_cmd_blend)


def _cmd_blend(args) -> int:
    from .blend import MIN_COLOURFULNESS, blend_on_validation

    if Path(args.out).exists():
        raise FileExistsError(f"{args.out} exists; choose another --out path")
    chosen = blend_on_validation(args.vivid, args.faithful, args.data, args.out,
                                 name=args.name or Path(args.out).stem, description=args.description,
                                 min_colourfulness=args.min_colourfulness or MIN_COLOURFULNESS, progress=_progress())
    print(f"wrote {args.out}: weight {chosen['weight']:g}, temperature {chosen['temperature']:g} "
          f"(validation: ab RMSE {chosen['ab_rmse']:.2f}, colourfulness {chosen['colorfulness']:.1f} "
          f"of the originals' {chosen['colorfulness_gt']:.1f}, PSNR {chosen['psnr']:.2f} dB)")
    return 0


# ---------------------------------------------------------------- jobs
def _add_jobs(sub) -> None:
    from .app.jobadmin import add_arguments  # the Train page's jobs and user checkpoints (torch-free)

    add_arguments(sub.add_parser("jobs", help="list or remove the Train page's jobs and user checkpoints"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="colorcore", description="Colorize grayscale micrographs with CNNs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_train, _add_colorize, _add_evaluate, _add_checkpoints, _add_analyze, _add_export,
                _add_blend, _add_jobs):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as err:
        _err(user_message(err))
        return 2


def run() -> None:
    """Entry point of ``python -m colorcore`` and the ``colorcore`` console command: exits with :func:`main`'s status."""
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into a reader that stopped early, e.g. ``| head``
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
