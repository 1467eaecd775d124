// The photo at working resolution for the colour guided filter (cpu/finish.rs's area_downsample
// and guided_from's products): each working pixel averages the photo pixels of its cell
// (common.wgsl's work_cell). With I the mean colour in [0, 1] and p the 256x256 mask sampled
// bilinearly, it writes the 13 values whose box means the filter needs, in four planes:
// (I.r, I.g, I.b, p), (I * p, I.r * I.r), (I.r * I.g, I.r * I.b, I.g * I.g, I.g * I.b),
// (I.b * I.b, 0, 0, 0): the colour covariance's upper triangle in reference::finish::PAIRS order.

struct Params { img_w: u32, img_h: u32, work_w: u32, work_h: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<u32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> guide0: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> guide1: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> guide2: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> guide3: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.work_w * p.work_h) { return; }
    let wx = i % p.work_w;
    let wy = i / p.work_w;
    let cell = work_cell(i, vec2<u32>(p.img_w, p.img_h), vec2<u32>(p.work_w, p.work_h));
    var sum = vec3<f32>(0.0);
    for (var y = cell.z; y < cell.w; y++) {
        for (var x = cell.x; x < cell.y; x++) {
            sum += unpack_rgba(image[y * p.img_w + x]).rgb / 255.0;
        }
    }
    let c = sum / f32((cell.y - cell.x) * (cell.w - cell.z));
    let ty = taps(wy, 256u, p.work_h);
    let tx = taps(wx, 256u, p.work_w);
    let r0 = u32(ty.x) * 256u;
    let r1 = u32(ty.y) * 256u;
    let mask = bilerp(probs[r0 + u32(tx.x)], probs[r0 + u32(tx.y)], probs[r1 + u32(tx.x)], probs[r1 + u32(tx.y)], tx, ty);
    guide0[i] = vec4<f32>(c, mask);
    guide1[i] = vec4<f32>(c * mask, c.r * c.r);
    guide2[i] = vec4<f32>(c.r * c.g, c.r * c.b, c.g * c.g, c.g * c.b);
    guide3[i] = vec4<f32>(c.b * c.b, 0.0, 0.0, 0.0);
}
