// The parameters of the windowed convolutions (conv2d, depthwise: ops/conv2d.rs's WindowParams;
// depthwise has cout == cin), TFLite SAME padding given as pad_top/pad_left. `frames` images
// lie one after another in x and out. When pooling (each kernel's POOL constant), the output's
// per-channel sums of each group of `pool_pixels` consecutive pixels follow it in `out`
// (`pool_groups` a frame; the groupings: ops Depthwise::sums, Conv2d::sums), each group's
// written by the threads that compute it. `items` threads a frame (window_plain.wgsl).
// The window's size is a pipeline constant (ops/conv2d.rs `window_constants`): its loops unroll.
override KERNEL: u32 = 3u;

struct Params {
    in_h: u32, in_w: u32, cin: u32, out_h: u32,
    out_w: u32, cout: u32, stride: u32,
    pad_top: u32, pad_left: u32,
    frames: u32, pool_groups: u32, pool_pixels: u32, items: u32,
}
