// Our packed RGBA8 buffer (one u32 per pixel, R low) into an app's rgba8unorm storage texture:
// the last step of Segmenter::composite_texture. One thread per pixel. Straight alpha, or
// colour premultiplied by alpha for a canvas configured "premultiplied".

struct Params { w: u32, h: u32, premultiplied: u32, _pad1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> packed: array<u32>;
@group(0) @binding(2) var target_texture: texture_storage_2d<rgba8unorm, write>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.w * p.h) { return; }
    let c = unpack4x8unorm(packed[i]);
    let premultiplied = vec4<f32>(c.rgb * c.a, c.a);
    textureStore(target_texture, vec2<u32>(i % p.w, i / p.w), select(c, premultiplied, p.premultiplied == 1u));
}
