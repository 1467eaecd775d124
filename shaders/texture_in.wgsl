// An app's texture into our packed RGBA8 buffer (one u32 per pixel, R low): the first step of
// Segmenter::composite_texture, the embedding without CPU readback (texture_out.wgsl is the
// last). Reads any float colour texture. One thread per pixel.

struct Params { w: u32, h: u32, _pad0: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var source: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.w * p.h) { return; }
    let c = textureLoad(source, vec2<u32>(i % p.w, i / p.w), 0);
    packed[i] = pack4x8unorm(c);
}
