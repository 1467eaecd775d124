#!/usr/bin/env python3
"""Export the network to ONNX from weights/selfie_segmentation.safetensors, for benchmarking
against ONNX Runtime (native, and onnxruntime-web in the browser).

NCHW, opset 17, input "image" [1, 3, 256, 256] RGB in [0, 1], output "mask" [1, 1, 256, 256].
TFLite SAME padding becomes explicit (bottom/right-heavy) pads; the 2x2 transposed convolution is
ConvTranspose with pads 0 (ONNX does not flip the kernel either); upsampling is Resize linear with
half_pixel coordinates. The graph mirrors src/network.rs.

Then checks the model with onnxruntime against MediaPipe's goldens (max |delta| <= 5e-4) and
writes benches/selfie_segmentation.onnx plus its sha256.
Usage: python tools/export_onnx.py
"""
import hashlib, json, struct
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benches" / "selfie_segmentation.onnx"


def load_safetensors(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f2").reshape(t["shape"]).astype(np.float32)
    return out


class Graph:
    def __init__(self, weights):
        self.w, self.nodes, self.inits, self.n = weights, [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def conv(self, layer, x, size, stride, depthwise=False):
        """TFLite SAME conv; weights [out, k, k, in] (depthwise [1, k, k, c]) -> ONNX [out, in/g, k, k]."""
        w = self.w[f"{layer}.weight"]
        k = w.shape[1]
        out = size // stride if size % stride == 0 else size // stride + 1
        total = max((out - 1) * stride + k - size, 0)
        pads = [total // 2, total // 2, total - total // 2, total - total // 2]
        if depthwise:
            onnx_w, group = w.transpose(3, 0, 1, 2), w.shape[3]
        else:
            onnx_w, group = w.transpose(0, 3, 1, 2), 1
        return self.node("Conv", [x, self.const(f"{layer}.weight", onnx_w), self.const(f"{layer}.bias", self.w[f"{layer}.bias"])],
                         kernel_shape=[k, k], strides=[stride, stride], pads=pads, group=group), out

    def act(self, x, act):
        if act == "relu":
            return self.node("Relu", [x])
        if act == "hswish":
            return self.node("HardSwish", [x])
        if act == "sigmoid":
            return self.node("Sigmoid", [x])
        return x

    def gate(self, x, layers):
        y = self.node("GlobalAveragePool", [x])
        for i, layer in enumerate(layers):
            y, _ = self.conv(layer, y, 1, 1)
            y = self.act(y, "sigmoid" if i == len(layers) - 1 else "relu")
        return y

    def up(self, x):
        scales = self.const(self.name("scales"), np.array([1, 1, 2, 2], np.float32))
        return self.node("Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="half_pixel")

    def bottleneck(self, name, x, size, k, stride, act, se, residual):
        y, _ = self.conv(f"{name}.expand", x, size, 1)
        y = self.act(y, act)
        y, size = self.conv(f"{name}.depthwise", y, size, stride, depthwise=True)
        y = self.act(y, act)
        if se:
            y = self.node("Mul", [y, self.gate(y, [f"{name}.se_reduce", f"{name}.se_expand"])])
        y, _ = self.conv(f"{name}.project", y, size, 1)
        return (self.node("Add", [y, x]) if residual else y), size

    def decoder(self, name, skip, up, size):
        g = self.gate(self.node("Add", [skip, up]), [f"{name}.gate_reduce", f"{name}.gate_expand"])
        x = self.node("Add", [self.node("Mul", [skip, g]), up])
        r, _ = self.conv(f"{name}.refine_pointwise", x, size, 1)
        r = self.act(r, "relu")
        d, _ = self.conv(f"{name}.refine_depthwise", r, size, 1, depthwise=True)
        return self.node("Add", [self.act(d, "relu"), r])


def build(weights):
    g = Graph(weights)
    x, size = g.conv("stem.conv", "image", 256, 2)
    half = g.act(x, "hswish")
    quarter, s4 = g.bottleneck("enc1", half, size, 3, 2, "relu", True, False)
    x, s = g.bottleneck("enc2", quarter, s4, 3, 2, "relu", False, False)
    eighth, s8 = g.bottleneck("enc3", x, s, 3, 1, "relu", False, True)
    x, s = g.bottleneck("enc4", eighth, s8, 5, 2, "hswish", True, False)
    for name in ["enc5", "enc6", "enc7", "enc8"]:
        x, s = g.bottleneck(name, x, s, 5, 1, "hswish", True, True)
    f, _ = g.conv("aspp.features", x, s, 1)
    x = g.node("Mul", [g.act(f, "relu"), g.gate(x, ["aspp.gate"])])
    x, _ = g.conv("aspp.project", g.up(x), s8, 1)
    x = g.decoder("dec32", eighth, x, s8)
    x, _ = g.conv("dec32.up_project", g.up(x), s4, 1)
    x = g.decoder("dec64", quarter, x, s4)
    x, _ = g.conv("dec64.up_project", g.up(x), size, 1)
    x = g.decoder("dec128", half, x, size)
    w = weights["segment.weight"]  # [out, kh, kw, in] -> ConvTranspose [in, out, kh, kw]
    seg = g.node("ConvTranspose", [x, g.const("segment.weight", w.transpose(3, 0, 1, 2)), g.const("segment.bias", weights["segment.bias"])],
                 kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    g.nodes.append(helper.make_node("Sigmoid", [seg], ["mask"]))
    graph = helper.make_graph(
        g.nodes, "selfie_segmentation",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 256, 256])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 256, 256])],
        initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="silhouette tools/export_onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    import onnxruntime as ort
    model = build(load_safetensors(ROOT / "weights" / "selfie_segmentation.safetensors"))
    blob = model.SerializeToString()
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    worst = 0.0
    for frame in sorted((ROOT / "tests" / "data" / "frames").glob("*.png")):
        rgb = np.asarray(Image.open(frame).convert("RGB"), np.float32) / 255.0
        (mask,) = session.run(None, {"image": rgb.transpose(2, 0, 1)[None]})
        golden = np.fromfile(ROOT / "tests" / "data" / "golden" / f"{frame.stem}.f32", "<f4").reshape(256, 256)
        diff = float(np.abs(mask[0, 0] - golden).max())
        worst = max(worst, diff)
        print(f"onnxruntime {ort.__version__} {frame.stem}: max |ORT - MediaPipe| = {diff:.2e}")
        assert diff <= 5e-4, frame.stem
    OUT.write_bytes(blob)
    digest = hashlib.sha256(blob).hexdigest()
    OUT.with_suffix(".onnx.sha256").write_text(f"{digest}  {OUT.name}\n")
    print(f"wrote {OUT} ({len(blob)} bytes, sha256 {digest}); worst {worst:.2e}")


if __name__ == "__main__":
    main()
