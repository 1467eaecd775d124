// The guided filter's affine coefficients from the box means of (I, p, I*p, I*I):
// a = cov(I, p) / (var(I) + eps), b = mean(p) - a * mean(I). Written as (a, b, 0, 0).

struct Params { len: u32, eps: f32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> means: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> coefficients: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.len) { return; }
    let m = means[i];
    let a = (m.z - m.x * m.y) / (m.w - m.x * m.x + p.eps);
    coefficients[i] = vec4<f32>(a, m.y - a * m.x, 0.0, 0.0);
}
