// RGBA8 image (one u32 per pixel, R in the low byte) of any size -> the network input:
// out_h x out_w x 3 f32 in [0, 1], half-pixel bilinear (an identity at equal sizes).
// Alpha is ignored.

struct Params { img_w: u32, img_h: u32, out_w: u32, out_h: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn rgb(x: u32, y: u32) -> vec3<f32> {
    return unpack4x8unorm(image[y * p.img_w + x]).rgb * 255.0;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.out_w * p.out_h) { return; }
    let ty = taps(i / p.out_w, p.img_h, p.out_h);
    let tx = taps(i % p.out_w, p.img_w, p.out_w);
    let top = rgb(u32(tx.x), u32(ty.x)) * (1.0 - tx.z) + rgb(u32(tx.y), u32(ty.x)) * tx.z;
    let bottom = rgb(u32(tx.x), u32(ty.y)) * (1.0 - tx.z) + rgb(u32(tx.y), u32(ty.y)) * tx.z;
    let v = (top * (1.0 - ty.z) + bottom * ty.z) / 255.0;
    out[3u * i] = v.r;
    out[3u * i + 1u] = v.g;
    out[3u * i + 2u] = v.b;
}
