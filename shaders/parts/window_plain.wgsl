// The entry point of the windowed convolutions (conv2d, depthwise), pooling or not (the name
// from when pooling in workgroups had an entry of its own): one thread per item,
// p.items per frame, each kernel's `item(i)` computing and storing its own blocking of the
// output (several pixels or several channels a thread), and when pooling its group's sums. No
// workgroup memory and no barrier: SwiftShader (the browsers' software WebGPU) runs a
// workgroup with barriers as coroutines, one per invocation group, and zero-fills its
// workgroup memory before it runs (pooling in workgroups cost its stem 9 ms, its 16x16
// depthwises 11-14 ms each).

@compute @workgroup_size(WINDOW_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * WINDOW_WG;
    if (i < p.frames * p.items) { item(i); }
}
