"""Training-throughput benchmark of the study network: images/s with data loading included.

Usage::

    PYTHONPATH=. python benchmarks/training.py [--data ../shared/data/places] [--size 128] [--batch 32]

colorcore's loop (images decoded once into memory, crop/flip and Lab conversion batched in torch)
in float32 and bf16 autocast, with and without channels_last, and the share of each step spent
outside forward/backward/optimizer (data and Lab conversion). Then the study's loop done the
study's way, in the same run: a DataLoader whose dataset opens each JPEG with PIL, applies
RandomResizedCrop + flip, converts with scikit-image ``rgb2lab``/``rgb2gray`` per image, float32,
no channels_last, Adam. Each configuration runs one warm-up step, then steps until ``--seconds``.
Without ``--data`` (or if it is missing) synthetic images are used.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from colorcore.data import augment_batch, lab_batch, load_image_tensor
from colorcore.splits import list_images
from colorcore.losses import mse
from colorcore.models import create_model

ROOT = Path(__file__).resolve().parent.parent


def _images(data: Path | None, n: int, size: int) -> tuple[torch.Tensor, list[Path]]:
    if data and data.is_dir():
        files = list_images(data)[:n]
        imgs, _ = load_image_tensor(data, files, size)
        return imgs, [data / f for f in files]
    rng = np.random.default_rng(0)
    return torch.from_numpy(rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8)), []


def ours(imgs: torch.Tensor, batch: int, size: int, bf16: bool, channels_last: bool, seconds: float) -> dict:
    torch.manual_seed(0)
    model = create_model("study_resnet18")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    n, data_s, total_s, steps = 0, 0.0, 0.0, 0
    while total_s < seconds or steps < 3:
        t0 = time.perf_counter()
        idx = torch.randint(0, len(imgs), (batch,), generator=gen)
        net_in, target, _ = lab_batch(augment_batch(imgs[idx], size, gen), torch.device("cpu"), "corrected")
        if channels_last:
            net_in = net_in.contiguous(memory_format=torch.channels_last)
        t1 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = model(net_in)
        loss = mse(pred.float(), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        t2 = time.perf_counter()
        if steps:  # the first step is the warm-up
            data_s += t1 - t0
            total_s += t2 - t0
            n += batch
        steps += 1
    return {"images_per_s": n / total_s, "outside_share": data_s / total_s}


def study(files: list[Path], imgs: torch.Tensor, batch: int, size: int, seconds: float) -> dict:
    from PIL import Image
    from skimage.color import rgb2gray, rgb2lab
    from torchvision import transforms

    crop = transforms.Compose([transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip()])

    class StudySet(torch.utils.data.Dataset):
        def __len__(self):
            return len(files) or len(imgs)

        def __getitem__(self, i):
            img = Image.open(files[i]).convert("RGB") if files else Image.fromarray(imgs[i].permute(1, 2, 0).numpy())
            rgb = np.asarray(crop(img)) / 255.0
            ab = (rgb2lab(rgb)[..., 1:] + 128) / 255
            gray = rgb2gray(rgb)
            return (torch.from_numpy(gray).float()[None], torch.from_numpy(ab.transpose(2, 0, 1)).float())

    loader = torch.utils.data.DataLoader(StudySet(), batch_size=batch, shuffle=True, num_workers=0)
    torch.manual_seed(0)
    model = create_model("study_resnet18")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    n, data_s, total_s, steps = 0, 0.0, 0.0, 0
    while total_s < seconds or steps < 3:
        it = iter(loader)
        for _ in range(len(loader)):
            t0 = time.perf_counter()
            gray, ab = next(it)
            t1 = time.perf_counter()
            loss = torch.nn.functional.mse_loss(model(gray), ab)
            opt.zero_grad()
            loss.backward()
            opt.step()
            t2 = time.perf_counter()
            if steps:
                data_s += t1 - t0
                total_s += t2 - t0
                n += len(gray)
            steps += 1
            if total_s >= seconds and steps >= 3:
                break
    return {"images_per_s": n / total_s, "outside_share": data_s / total_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "places"))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    imgs, files = _images(Path(args.data), args.images, args.size)
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), "
          f"{torch.get_num_threads()} threads; {len(imgs)} {'real' if files else 'synthetic'} images, "
          f"{args.size} px, batch {args.batch}\n")
    rows = []
    for bf16 in (False, True):
        for cl in (False, True):
            r = ours(imgs, args.batch, args.size, bf16, cl, args.seconds if not bf16 else args.seconds / 4)
            rows.append((f"colorcore, {'bf16 autocast' if bf16 else 'float32'}"
                         f"{', channels_last' if cl else ''}", r))
    best = max(r["images_per_s"] for _, r in rows)
    rows.append(("the study's way (PIL + skimage per image, float32)", study(files, imgs, args.batch, args.size,
                                                                           args.seconds)))
    print("| configuration | images/s | share outside forward/backward | best colorcore / this |")
    print("|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['images_per_s']:.1f} | {100 * r['outside_share']:.1f} % | "
              f"{best / r['images_per_s']:.2f}x |")


if __name__ == "__main__":
    main()
