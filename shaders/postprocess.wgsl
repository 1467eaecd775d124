// Probabilities (in_h x in_w f32) -> an 8-bit mask at out_w x out_h, half-pixel bilinear,
// value floor(p * 255 + 0.5). Four pixels per thread, packed into one u32 (byte 0 = first pixel),
// so the readback is a quarter of an f32 mask.

struct Params { in_w: u32, in_h: u32, out_w: u32, out_h: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

fn sample(px: u32) -> u32 {
    let ty = taps(px / p.out_w, p.in_h, p.out_h);
    let tx = taps(px % p.out_w, p.in_w, p.out_w);
    let r0 = u32(ty.x) * p.in_w;
    let r1 = u32(ty.y) * p.in_w;
    return to_u8(bilerp(probs[r0 + u32(tx.x)], probs[r0 + u32(tx.y)], probs[r1 + u32(tx.x)], probs[r1 + u32(tx.y)], tx, ty));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let word = linear_index(gid, groups);
    let total = p.out_w * p.out_h;
    if (4u * word >= total) { return; }
    var packed = 0u;
    for (var k = 0u; k < 4u; k++) {
        let px = 4u * word + k;
        if (px < total) { packed |= sample(px) << (8u * k); }
    }
    out[word] = packed;
}
