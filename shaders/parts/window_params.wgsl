// The parameters of the windowed convolutions (conv2d, depthwise: ops/conv2d.rs's WindowParams;
// depthwise has cout == cin), TFLite SAME padding given as pad_top/pad_left. `frames` images
// lie one after another in x and out.
struct Params {
    in_h: u32, in_w: u32, cin: u32, out_h: u32,
    out_w: u32, cout: u32, kernel: u32, stride: u32,
    pad_top: u32, pad_left: u32, act: u32, has_add: u32,
    frames: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}
