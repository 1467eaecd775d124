"""examples/python/ray_batch.py in Ray's local mode with 2 workers: every photo of the folder is
cut out once, each equal to the wheel's own `remove` in this process."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import silhouette

ROOT = Path(__file__).resolve().parents[2]


def test_ray_data_cuts_out_a_folder_with_two_workers(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    frames = sorted((ROOT / "tests" / "data" / "frames").glob("*.png"))
    for k in range(6):
        frame = Image.open(frames[k % len(frames)]).convert("RGB")
        frame.rotate(7 * k).save(photos / f"photo{k}.png")
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "python" / "ray_batch.py"), str(photos), str(out), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "6 photos cut out" in run.stdout
    assert sorted(p.name for p in out.iterdir()) == [f"photo{k}.png" for k in range(6)]
    engine = silhouette.Segmenter("cpu")
    for k in range(6):
        want = np.asarray(silhouette.remove(photos / f"photo{k}.png", session=engine))
        assert (np.asarray(Image.open(out / f"photo{k}.png")) == want).all(), k
