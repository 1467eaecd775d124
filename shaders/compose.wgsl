// The finished photo, one thread per full-resolution pixel (cpu/finish.rs's alpha + compose):
// alpha from the guided coefficients (refined) or the bilinear mask, quantised to 8 bits, then
// straight-alpha cut-out or a blend over a colour, the blurred photo, or a cover-scaled picture.

struct Params {
    img_w: u32, img_h: u32, work_w: u32, work_h: u32,
    refine: u32, background: u32, colour: u32, bg_w: u32,
    bg_h: u32, cover_scale: f32, cover_x: f32, cover_y: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<u32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> coefficients: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> blurred: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> picture: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<u32>;

// Bilinear sample of a work_w x work_h vec4 plane at photo pixel (x, y).
fn sample_work(plane_is_blur: bool, x: u32, y: u32) -> vec4<f32> {
    let tx = taps(x, p.work_w, p.img_w);
    let ty = taps(y, p.work_h, p.img_h);
    let i00 = u32(ty.x) * p.work_w + u32(tx.x);
    let i01 = u32(ty.x) * p.work_w + u32(tx.y);
    let i10 = u32(ty.y) * p.work_w + u32(tx.x);
    let i11 = u32(ty.y) * p.work_w + u32(tx.y);
    var v00: vec4<f32>; var v01: vec4<f32>; var v10: vec4<f32>; var v11: vec4<f32>;
    if (plane_is_blur) {
        v00 = blurred[i00]; v01 = blurred[i01]; v10 = blurred[i10]; v11 = blurred[i11];
    } else {
        v00 = coefficients[i00]; v01 = coefficients[i01]; v10 = coefficients[i10]; v11 = coefficients[i11];
    }
    return (v00 * (1.0 - tx.z) + v01 * tx.z) * (1.0 - ty.z) + (v10 * (1.0 - tx.z) + v11 * tx.z) * ty.z;
}

fn mask_at(x: u32, y: u32) -> f32 {
    let tx = taps(x, 256u, p.img_w);
    let ty = taps(y, 256u, p.img_h);
    let r0 = u32(ty.x) * 256u;
    let r1 = u32(ty.y) * 256u;
    return bilerp(probs[r0 + u32(tx.x)], probs[r0 + u32(tx.y)], probs[r1 + u32(tx.x)], probs[r1 + u32(tx.y)], tx, ty);
}

fn picture_at(x: u32, y: u32) -> vec3<f32> {
    let sx = clamp((f32(x) + 0.5) * p.cover_scale + p.cover_x - 0.5, 0.0, f32(p.bg_w - 1u));
    let sy = clamp((f32(y) + 0.5) * p.cover_scale + p.cover_y - 0.5, 0.0, f32(p.bg_h - 1u));
    let x0 = u32(floor(sx));
    let y0 = u32(floor(sy));
    let x1 = min(x0 + 1u, p.bg_w - 1u);
    let y1 = min(y0 + 1u, p.bg_h - 1u);
    let fx = sx - f32(x0);
    let fy = sy - f32(y0);
    let a = unpack_rgba(picture[y0 * p.bg_w + x0]).rgb;
    let b = unpack_rgba(picture[y0 * p.bg_w + x1]).rgb;
    let c = unpack_rgba(picture[y1 * p.bg_w + x0]).rgb;
    let d = unpack_rgba(picture[y1 * p.bg_w + x1]).rgb;
    return (a * (1.0 - fx) + b * fx) * (1.0 - fy) + (c * (1.0 - fx) + d * fx) * fy;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.img_w * p.img_h) { return; }
    let x = i % p.img_w;
    let y = i / p.img_w;
    let fg = unpack_rgba(image[i]).rgb;
    var alpha: u32;
    if (p.refine == 1u) {
        let ab = sample_work(false, x, y);
        alpha = to_u8(ab.x * luma(fg) + ab.y);
    } else {
        alpha = to_u8(mask_at(x, y));
    }
    let fg8 = vec3<u32>(fg);
    if (p.background == BACKGROUND_TRANSPARENT) {
        out[i] = fg8.r | (fg8.g << 8u) | (fg8.b << 16u) | (alpha << 24u);
        return;
    }
    var behind: vec3<f32>;
    switch p.background {
        case BACKGROUND_COLOR: { behind = unpack_rgba(p.colour).rgb; }
        case BACKGROUND_BLUR: { behind = sample_work(true, x, y).rgb; }
        default: { behind = picture_at(x, y); } // BACKGROUND_IMAGE
    }
    let t = f32(alpha) / 255.0;
    let mixed = (fg * t + behind * (1.0 - t)) / 255.0;
    out[i] = to_u8(mixed.r) | (to_u8(mixed.g) << 8u) | (to_u8(mixed.b) << 16u) | (255u << 24u);
}
