// What compose.wgsl and background.wgsl share: their uniform block (ops/compose.rs's
// ComposeParams) and the alpha of one photo pixel, as cpu/finish.rs's alpha makes it. Each kernel
// declares `p`, `probs` (the 256x256 mask) and `coefficients` (the guided filter's mean
// (a.r, a.g, a.b, b) at guide_w x guide_h).

struct Params {
    img_w: u32, img_h: u32, work_w: u32, work_h: u32,
    refine: u32, background: u32, colour: u32, bg_w: u32,
    bg_h: u32, cover_scale: f32, cover_x: f32, cover_y: f32,
    response_lo: f32, response_scale: f32, guide_w: u32, guide_h: u32,
}

// The four pixels of a plane_w x plane_h plane under photo pixel (x, y), and the weights
// between them.
struct WorkTaps { i00: u32, i01: u32, i10: u32, i11: u32, fx: f32, fy: f32 }

fn plane_taps(x: u32, y: u32, plane_w: u32, plane_h: u32) -> WorkTaps {
    let tx = taps(x, plane_w, p.img_w);
    let ty = taps(y, plane_h, p.img_h);
    let top = u32(ty.x) * plane_w;
    let bottom = u32(ty.y) * plane_w;
    return WorkTaps(top + u32(tx.x), top + u32(tx.y), bottom + u32(tx.x), bottom + u32(tx.y), tx.z, ty.z);
}

// Bilinear blend of the four working pixels' values, in the order of reference::finish::Plane::sample.
fn work_lerp(t: WorkTaps, v00: vec4<f32>, v01: vec4<f32>, v10: vec4<f32>, v11: vec4<f32>) -> vec4<f32> {
    return (v00 * (1.0 - t.fx) + v01 * t.fx) * (1.0 - t.fy) + (v10 * (1.0 - t.fx) + v11 * t.fx) * t.fy;
}

fn mask_at(x: u32, y: u32) -> f32 {
    let tx = taps(x, 256u, p.img_w);
    let ty = taps(y, 256u, p.img_h);
    let r0 = u32(ty.x) * 256u;
    let r1 = u32(ty.y) * 256u;
    return bilerp(probs[r0 + u32(tx.x)], probs[r0 + u32(tx.y)], probs[r1 + u32(tx.x)], probs[r1 + u32(tx.y)], tx, ty);
}

// The 8-bit alpha of photo pixel (x, y) of colour fg (0..255): the refined a . fg / 255 + b, or
// the mask upsampled, through the response ramp (finish.rs's Response).
fn alpha_at(x: u32, y: u32, fg: vec3<f32>) -> u32 {
    var v: f32;
    if (p.refine == 1u) {
        let t = plane_taps(x, y, p.guide_w, p.guide_h);
        let ab = work_lerp(t, coefficients[t.i00], coefficients[t.i01], coefficients[t.i10], coefficients[t.i11]);
        v = dot(ab.xyz, fg / 255.0) + ab.w;
    } else {
        v = mask_at(x, y);
    }
    return to_u8((v - p.response_lo) * p.response_scale);
}
