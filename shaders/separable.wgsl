// One pass of a separable filter over a w x h plane of vec4: horizontal or vertical.
// Box mode: the mean over [x - r, x + r] clipped at the borders (cpu/finish.rs's box_mean).
// Taps mode: symmetric weights taps[0..=r], edges clamped (cpu/finish.rs's Gaussian blur); with
// unweigh, the result's colour is divided by its weight lane (finish.rs's unweigh).

struct Params { w: u32, h: u32, horizontal: u32, radius: u32, box_mode: u32, unweigh: u32, _pad0: u32, _pad1: u32 }

// Read from storage, not a uniform: Mesa's lavapipe inlines uniforms that steer loops into a
// fresh JIT-compiled variant, and for this kernel it did so on every dispatch without freeing
// any (about 160 KB of code per pass per frame; tests/soak.rs and tests/cli_hardening.rs
// watch for it).
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;

fn at(x: i32, y: i32) -> vec4<f32> {
    return src[u32(y) * p.w + u32(x)];
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.w * p.h) { return; }
    let x = i32(i % p.w);
    let y = i32(i / p.w);
    let r = i32(p.radius);
    let size = select(i32(p.h), i32(p.w), p.horizontal == 1u);
    let pos = select(y, x, p.horizontal == 1u);
    let step = select(vec2<i32>(0, 1), vec2<i32>(1, 0), p.horizontal == 1u);
    if (p.box_mode == 1u) {
        let a = max(pos - r, 0);
        let b = min(pos + r, size - 1);
        var sum = vec4<f32>(0.0);
        for (var k = a; k <= b; k++) {
            let q = vec2<i32>(x, y) + step * (k - pos);
            sum += at(q.x, q.y);
        }
        dst[i] = sum / f32(b - a + 1);
        return;
    }
    var sum = weights[0] * at(x, y);
    for (var d = 1; d <= r; d++) {
        let lo = clamp(pos - d, 0, size - 1) - pos;
        let hi = clamp(pos + d, 0, size - 1) - pos;
        let qa = vec2<i32>(x, y) + step * lo;
        let qb = vec2<i32>(x, y) + step * hi;
        sum += weights[d] * (at(qa.x, qa.y) + at(qb.x, qb.y));
    }
    if (p.unweigh == 1u) {
        sum = vec4<f32>((sum.rgb + BLUR_WEIGHT_FLOOR * 128.0) / (sum.w + BLUR_WEIGHT_FLOOR), 1.0);
    }
    dst[i] = sum;
}
