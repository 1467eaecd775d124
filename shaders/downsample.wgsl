// The photo at working resolution for the guided filter and the blur (cpu/finish.rs's
// area_downsample): each working pixel averages exactly the photo pixels x with
// floor(x * work_w / img_w) == its column (same for rows). Writes (I, p, I*p, I*I), with I the
// mean luma and p the 256x256 mask sampled bilinearly, and the mean colour (0..255).

struct Params { img_w: u32, img_h: u32, work_w: u32, work_h: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<u32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> guide: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> colour: array<vec4<f32>>;

// The first photo index mapping to working index i (integer ceil of i * size / work).
fn first(i: u32, size: u32, work: u32) -> u32 {
    return (i * size + work - 1u) / work;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.work_w * p.work_h) { return; }
    let wx = i % p.work_w;
    let wy = i / p.work_w;
    var sum_luma = 0.0;
    var sum_rgb = vec3<f32>(0.0);
    for (var y = first(wy, p.img_h, p.work_h); y < first(wy + 1u, p.img_h, p.work_h); y++) {
        for (var x = first(wx, p.img_w, p.work_w); x < first(wx + 1u, p.img_w, p.work_w); x++) {
            let rgb = unpack_rgba(image[y * p.img_w + x]).rgb;
            sum_luma += luma(rgb);
            sum_rgb += rgb;
        }
    }
    let n = f32((first(wx + 1u, p.img_w, p.work_w) - first(wx, p.img_w, p.work_w))
              * (first(wy + 1u, p.img_h, p.work_h) - first(wy, p.img_h, p.work_h)));
    let lum = sum_luma / n;
    let ty = taps(wy, 256u, p.work_h);
    let tx = taps(wx, 256u, p.work_w);
    let r0 = u32(ty.x) * 256u;
    let r1 = u32(ty.y) * 256u;
    let mask = bilerp(probs[r0 + u32(tx.x)], probs[r0 + u32(tx.y)], probs[r1 + u32(tx.x)], probs[r1 + u32(tx.y)], tx, ty);
    guide[i] = vec4<f32>(lum, mask, lum * mask, lum * lum);
    colour[i] = vec4<f32>(sum_rgb / n, 0.0);
}
