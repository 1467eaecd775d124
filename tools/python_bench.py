"""Photos/s of the wheel on a folder of 640x480 JPEGs (decode, cut out, PNG encode), beside
Python + ONNX Runtime on the same network (benches/selfie_segmentation.onnx; PIL decode, resize
and encode, as rembg does), and the wheel through Ray Data in local mode with 2 workers (Ray's
start included) beside one process. Alternated, two rounds. Prints a Markdown table."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

import silhouette

ROOT = Path(__file__).resolve().parents[1]
RAY_BATCH = ROOT / "examples" / "python" / "ray_batch.py"

N = 80


def folder(dir):
    frames = sorted((ROOT / "tests" / "data" / "frames").glob("*.png"))
    for k in range(N):
        frame = Image.open(frames[k % len(frames)]).convert("RGB").resize((640, 480), Image.BILINEAR)
        frame.rotate(k * 3).save(dir / f"photo{k:03}.jpg", quality=90)
    return sorted(dir.glob("*.jpg"))


def ours(photos, out, engine):
    for photo in photos:
        silhouette.remove(photo, session=engine).save(out / (photo.stem + ".png"))


def onnx(photos, out, session):
    for photo in photos:
        image = Image.open(photo).convert("RGB")
        x = np.asarray(image.resize((256, 256), Image.BILINEAR), np.float32) / 255.0
        mask = session.run(None, {"image": x.transpose(2, 0, 1)[None]})[0][0, 0]
        alpha = Image.fromarray((mask * 255).clip(0, 255).astype(np.uint8)).resize(image.size, Image.BILINEAR)
        image.putalpha(alpha)
        image.save(out / (photo.stem + ".png"))


def timed(work):
    start = time.perf_counter()
    work()
    return N / (time.perf_counter() - start)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photos_dir = tmp / "photos"
        photos_dir.mkdir()
        photos = folder(photos_dir)
        engine = silhouette.Segmenter("cpu")
        session = ort.InferenceSession(str(ROOT / "benches" / "selfie_segmentation.onnx"), providers=["CPUExecutionProvider"])
        ours(photos[:2], tmp, engine)  # warm-up
        onnx(photos[:2], tmp, session)
        rows = []
        for round in (1, 2):
            outs = [tmp / f"out{round}-{k}" for k in range(3)]
            for o in outs:
                o.mkdir()
            a = timed(lambda: ours(photos, outs[0], engine))
            b = timed(lambda: onnx(photos, outs[1], session))
            # Its own process, as a job would run it: Python's and Ray's start included.
            ray = [sys.executable, str(RAY_BATCH), str(photos_dir), str(outs[2]), "--workers", "2"]
            c = timed(lambda: subprocess.run(ray, check=True, capture_output=True))
            rows.append((round, a, b, c))
        cores = os.cpu_count()
        print(f"{cores} cores; {N} JPEGs of 640x480, each decoded, cut out and written as PNG; "
              f"the silhouette wheel on its CPU engine, onnxruntime {ort.__version__} (CPU, default threads), "
              f"Ray Data local mode: examples/python/ray_batch.py, 2 actors, in a process of its own (Python's and Ray's start included).")
        print()
        print("| round | the wheel, photos/s | Python + ONNX Runtime, photos/s | wheel / ORT | the wheel in Ray, 2 workers, photos/s |")
        print("|---|---|---|---|---|")
        for round, a, b, c in rows:
            print(f"| {round} | {a:.1f} | {b:.1f} | {a / b:.2f}× | {c:.1f} |")


if __name__ == "__main__":
    main()
