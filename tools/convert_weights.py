#!/usr/bin/env python3
"""Convert MediaPipe's selfie_segmentation.tflite into weights/selfie_segmentation.safetensors.

Reproducible: fetches the model with `npm pack` from the pinned npm package, checks its sha256,
and writes every parameter in fp16 exactly as stored in the tflite (no re-quantisation), under a
name that says which layer it belongs to. Layouts are TFLite's:
  conv / pointwise  weight [out, kh, kw, in]
  depthwise         weight [1, kh, kw, channels]
  segment (2x2 transposed conv, stride 2, kernel not flipped) weight [1, kh, kw, in]
  bias              [out]

Usage: python tools/convert_weights.py [--tflite path/to/selfie_segmentation.tflite]
"""
import argparse, hashlib, json, os, subprocess, sys, tarfile, tempfile
from pathlib import Path

import numpy as np
import tflite

NPM_PACKAGE = "@mediapipe/selfie_segmentation@0.1.1675465747"
SHA256 = "8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27"
ROOT = Path(__file__).resolve().parent.parent

# TFLite layer name -> our name. Read top-down, this is the network.
NAMES = {
    "conv2d": "stem.conv",                      # 3x3 s2, 3->16, hard-swish
}
def _bottleneck(block, expand, dw, project, se=None):
    NAMES[expand] = f"{block}.expand"
    NAMES[dw] = f"{block}.depthwise"
    if se:
        NAMES[se[0]] = f"{block}.se_reduce"
        NAMES[se[1]] = f"{block}.se_expand"
    NAMES[project] = f"{block}.project"
# encoder: MobileNetV3-style inverted bottlenecks
_bottleneck("enc1", "conv2d_1", "depthwise_conv2d", "conv2d_4", se=("conv2d_2", "conv2d_3"))
_bottleneck("enc2", "conv2d_5", "depthwise_conv2d_1", "conv2d_6")
_bottleneck("enc3", "conv2d_7", "depthwise_conv2d_2", "conv2d_8")
_bottleneck("enc4", "conv2d_9", "depthwise_conv2d_3", "conv2d_12", se=("conv2d_10", "conv2d_11"))
_bottleneck("enc5", "conv2d_13", "depthwise_conv2d_4", "conv2d_16", se=("conv2d_14", "conv2d_15"))
_bottleneck("enc6", "conv2d_17", "depthwise_conv2d_5", "conv2d_20", se=("conv2d_18", "conv2d_19"))
_bottleneck("enc7", "conv2d_21", "depthwise_conv2d_6", "conv2d_24", se=("conv2d_22", "conv2d_23"))
_bottleneck("enc8", "conv2d_25", "depthwise_conv2d_7", "conv2d_28", se=("conv2d_26", "conv2d_27"))
# LR-ASPP head at 1/16 resolution
NAMES.update({"conv2d_29": "aspp.features", "conv2d_30": "aspp.gate", "conv2d_31": "aspp.project"})
# decoder stages: gate the skip with squeeze-excite of (skip + up), refine, upsample, project
def _decoder(stage, gate_reduce, gate_expand, pointwise, dw, up_project=None):
    NAMES.update({gate_reduce: f"{stage}.gate_reduce", gate_expand: f"{stage}.gate_expand",
                  pointwise: f"{stage}.refine_pointwise", dw: f"{stage}.refine_depthwise"})
    if up_project:
        NAMES[up_project] = f"{stage}.up_project"
_decoder("dec32", "conv2d_32", "conv2d_33", "conv2d_34", "depthwise_conv2d_8", "conv2d_35")
_decoder("dec64", "conv2d_36", "conv2d_37", "conv2d_38", "depthwise_conv2d_9", "conv2d_39")
_decoder("dec128", "conv2d_40", "conv2d_41", "conv2d_42", "depthwise_conv2d_10")
NAMES["segment"] = "segment"                    # 2x2 s2 transposed conv 16->1, then sigmoid


def fetch_tflite(workdir: Path) -> Path:
    subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    (tgz,) = workdir.glob("*.tgz")
    with tarfile.open(tgz) as tar:
        tar.extract("package/selfie_segmentation.tflite", workdir, filter="data")
    return workdir / "package" / "selfie_segmentation.tflite"


def read_parameters(buf: bytes) -> dict:
    """Every constant fp16 tensor named '<layer>/Kernel' or '<layer>/Bias'."""
    model = tflite.Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    params = {}
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        data = model.Buffers(t.Buffer()).DataAsNumpy()
        if not isinstance(data, np.ndarray) or data.size == 0 or t.Type() != tflite.TensorType.FLOAT16:
            continue
        layer, kind = t.Name().decode().split("/")
        arr = np.frombuffer(data.tobytes(), dtype="<f2").reshape(t.ShapeAsNumpy())
        params[(layer, kind)] = arr
    return params


def write_safetensors(path: Path, tensors: dict, metadata: dict):
    """The safetensors format, written with sorted keys so the file is byte-for-byte reproducible
    (the `safetensors` package orders metadata by hash)."""
    header, blobs, offset = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for name, arr in sorted(tensors.items()):
        blob = arr.astype("<f2").tobytes()
        header[name] = {"dtype": "F16", "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tflite", type=Path, help="use this file instead of running npm pack")
    ap.add_argument("--out", type=Path, default=ROOT / "weights" / "selfie_segmentation.safetensors")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.tflite or fetch_tflite(Path(tmp))
        buf = path.read_bytes()
    digest = hashlib.sha256(buf).hexdigest()
    if digest != SHA256:
        sys.exit(f"{path}: sha256 {digest} != expected {SHA256}")

    params = read_parameters(buf)
    layers = {layer for layer, _ in params}
    if layers != set(NAMES):
        sys.exit(f"layer mismatch: unmapped {sorted(layers - set(NAMES))}, missing {sorted(set(NAMES) - layers)}")
    tensors = {}
    for (layer, kind), arr in params.items():
        tensors[f"{NAMES[layer]}.{'weight' if kind == 'Kernel' else 'bias'}"] = np.ascontiguousarray(arr)
    count = sum(a.size for a in tensors.values())
    metadata = {
        "source": f"npm {NPM_PACKAGE} package/selfie_segmentation.tflite",
        "source_sha256": SHA256,
        "license": "Apache-2.0 (MediaPipe Selfie Segmentation, Google LLC); see weights/NOTICE",
        "layout": "conv/pointwise [out,kh,kw,in]; depthwise [1,kh,kw,c]; segment [1,kh,kw,in]; fp16 as in source",
        "parameters": str(count),
        "tflite_names": json.dumps({v: k for k, v in NAMES.items()}, sort_keys=True),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(args.out, tensors, metadata)
    manifest = ROOT / "tests" / "data" / "weights_manifest.txt"
    manifest.write_text("# name dtype shape, read from the tflite by tools/convert_weights.py\n" + "".join(
        f"{name} F16 {'x'.join(map(str, arr.shape))}\n" for name, arr in sorted(tensors.items())))
    print(f"wrote {args.out} ({len(tensors)} tensors, {count} parameters)")


if __name__ == "__main__":
    main()
