// The entry point of the windowed convolutions (conv2d, depthwise): each defines
// `output(frame, px, ch)`, the raw result of one output element (before the epilogue), and
// `plain(i)`, which computes and stores plain item i (its own blocking of the output).
//
// Plain: one thread per item, p.plain_items per frame (each kernel's blocking: several pixels
// or several channels per thread).
// Pooling (p.pool_groups > 0, for a squeeze-excite gate a later 1x1 computes in its prologue):
// workgroup (g, frame) computes pixels [g * pool_pixels, (g + 1) * pool_pixels) of its frame,
// each thread one channel of WG / cout pixels at a time, and writes that group's per-channel
// sums of the stored values after the frames' outputs: out[frames * per_frame + (frame *
// pool_groups + g) * cout + ch]. Needs cout <= WG (checked on the host).

var<workgroup> pool_lanes: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let pixels = p.out_h * p.out_w;
    let per_frame = pixels * p.cout;
    if (p.pool_groups == 0u) {
        let i = linear_index(gid, groups);
        if (i < p.frames * p.plain_items) { plain(i); }
        return;
    }
    let frame = wg.y;
    let ch = t % p.cout;
    let step = WG / p.cout;
    let first = wg.x * p.pool_pixels;
    let end = min(first + p.pool_pixels, pixels);
    var sum = 0.0;
    if (t < step * p.cout) {
        for (var px = first + t / p.cout; px < end; px += step) {
            sum += store(frame * per_frame + px * p.cout + ch, output(frame, px, ch));
        }
    }
    pool_lanes[t] = sum;
    workgroupBarrier();
    if (t < p.cout) {
        var total = 0.0;
        for (var l = 0u; l < step; l++) { total += pool_lanes[t + l * p.cout]; }
        out[p.frames * per_frame + (frame * p.pool_groups + wg.x) * p.cout + t] = total;
    }
}
