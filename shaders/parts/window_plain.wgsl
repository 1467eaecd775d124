// The entry point of the windowed convolutions (conv2d, depthwise) without a workgroup's
// pooling: one thread per item, p.items per frame, each kernel's `item(i)` computing and
// storing its own blocking of the output (several pixels or several channels a thread). No
// workgroup memory and no barrier: SwiftShader (the browsers' software WebGPU) runs a
// workgroup with barriers invocation group by invocation group as coroutines, and zero-fills
// its workgroup memory before it runs (window_pooled.wgsl).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i < p.frames * p.items) { item(i); }
}
