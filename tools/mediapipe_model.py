#!/usr/bin/env python3
"""MediaPipe's own copy of the network, for racing its web runtime (tools/web.sh calls).

@mediapipe/tasks-vision refuses the tflite our weights come from (it lacks NormalizationOptions
metadata); pip's mediapipe==0.10.14 wheel ships the same network with that metadata. This takes
mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite from that wheel, checks its
sha256, and checks that every parameter is bit-for-bit the one in
weights/selfie_segmentation.safetensors (so the race runs one network on two runtimes).

Usage: python tools/mediapipe_model.py OUT.tflite
"""
import hashlib, json, struct, subprocess, sys, tempfile, zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert_weights import NAMES, read_parameters  # noqa: E402

WHEEL = "mediapipe==0.10.14"
MEMBER = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
SHA256 = "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"
OURS = Path(__file__).resolve().parent.parent / "weights" / "selfie_segmentation.safetensors"


def our_tensors() -> dict:
    raw = OURS.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    header.pop("__metadata__", None)
    start = 8 + size
    return {name: np.frombuffer(raw[start + a:start + b], dtype="<f2").reshape(h["shape"])
            for name, h in header.items() for a, b in [h["data_offsets"]]}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", "3.11", "--platform", "manylinux2014_x86_64", "-d", tmp, WHEEL],
                       check=True)
        (wheel,) = Path(tmp).glob("mediapipe-*.whl")
        buf = zipfile.ZipFile(wheel).read(MEMBER)
    digest = hashlib.sha256(buf).hexdigest()
    if digest != SHA256:
        sys.exit(f"{WHEEL} {MEMBER}: sha256 {digest} != expected {SHA256}")
    theirs, ours = read_parameters(buf), our_tensors()
    names = {f"{NAMES[layer]}.{'weight' if kind == 'Kernel' else 'bias'}": arr for (layer, kind), arr in theirs.items()}
    if set(names) != set(ours):
        sys.exit(f"{MEMBER}: other tensors than ours: {sorted(set(names) ^ set(ours))}")
    differ = [n for n, arr in names.items() if arr.shape != ours[n].shape or arr.tobytes() != ours[n].tobytes()]
    if differ:
        sys.exit(f"{MEMBER}: parameters differ from ours in {differ}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf)
    print(f"{out}: {WHEEL}'s {MEMBER}, sha256 {SHA256[:12]}…, all {len(ours)} tensors equal to ours")


if __name__ == "__main__":
    main()
