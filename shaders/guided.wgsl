// The colour guided filter's coefficients (cpu/finish.rs's guided_ab) from the box means of the
// four planes downsample.wgsl writes: a = (cov(I) + eps U)^-1 cov(I, p) by the adjugate,
// b = mean(p) - a . mean(I). Written as (a.r, a.g, a.b, b).

struct Params { len: u32, eps: f32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> means0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> means1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> means2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> means3: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> coefficients: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.len) { return; }
    let m0 = means0[i];
    let m1 = means1[i];
    let m2 = means2[i];
    let m3 = means3[i];
    let mi = m0.xyz;
    let s00 = m1.w - mi.r * mi.r + p.eps;
    let s01 = m2.x - mi.r * mi.g;
    let s02 = m2.y - mi.r * mi.b;
    let s11 = m2.z - mi.g * mi.g + p.eps;
    let s12 = m2.w - mi.g * mi.b;
    let s22 = m3.x - mi.b * mi.b + p.eps;
    let v = m1.xyz - mi * m0.w;
    let c00 = s11 * s22 - s12 * s12;
    let c01 = s02 * s12 - s01 * s22;
    let c02 = s01 * s12 - s02 * s11;
    let c11 = s00 * s22 - s02 * s02;
    let c12 = s01 * s02 - s00 * s12;
    let c22 = s00 * s11 - s01 * s01;
    let det = s00 * c00 + s01 * c01 + s02 * c02;
    let a = vec3<f32>(
        c00 * v.x + c01 * v.y + c02 * v.z,
        c01 * v.x + c11 * v.y + c12 * v.z,
        c02 * v.x + c12 * v.y + c22 * v.z,
    ) / det;
    coefficients[i] = vec4<f32>(a, m0.w - dot(a, mi));
}
