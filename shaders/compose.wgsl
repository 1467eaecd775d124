// The finished photo, one thread per full-resolution pixel (cpu/finish.rs's alpha + compose):
// alpha from the guided coefficients (refined) or the bilinear mask, quantised to 8 bits
// (parts/finish_pixel.wgsl), then straight-alpha cut-out or a blend over a colour, the blurred
// background, or a cover-scaled picture.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<u32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> coefficients: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> blurred: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> picture: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<u32>;

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
    let alpha = alpha_at(x, y, fg);
    let fg8 = vec3<u32>(fg);
    if (p.background == BACKGROUND_TRANSPARENT) {
        out[i] = fg8.r | (fg8.g << 8u) | (fg8.b << 16u) | (alpha << 24u);
        return;
    }
    var behind: vec3<f32>;
    switch p.background {
        case BACKGROUND_COLOR: { behind = unpack_rgba(p.colour).rgb; }
        case BACKGROUND_BLUR: {
            let t = plane_taps(x, y, p.work_w, p.work_h);
            behind = work_lerp(t, blurred[t.i00], blurred[t.i01], blurred[t.i10], blurred[t.i11]).rgb;
        }
        default: { behind = picture_at(x, y); } // BACKGROUND_IMAGE
    }
    let t = f32(alpha) / 255.0;
    let mixed = (fg * t + behind * (1.0 - t)) / 255.0;
    out[i] = to_u8(mixed.r) | (to_u8(mixed.g) << 8u) | (to_u8(mixed.b) << 16u) | (255u << 24u);
}
