// The entry point of the windowed convolutions (conv2d, depthwise): each defines
// `block(frame, px, ch0)`, the raw results (before the epilogue) of BLOCK channels from ch0 at
// one output pixel, in an array<f32, BLOCK_MAX>, and `plain(i)`, which computes and stores plain
// item i (its own blocking of the output).
//
// Plain: one thread per item, p.plain_items per frame (each kernel's blocking: several pixels
// or several channels per thread).
// Pooling (POOL, for a squeeze-excite gate a later 1x1 computes in its prologue):
// workgroup (g, frame) computes pixels [g * pool_pixels, (g + 1) * pool_pixels) of its frame,
// each thread one block of channels of THREADS / (cout / BLOCK) pixels at a time, and writes that
// group's per-channel sums of the stored values after the frames' outputs: out[frames *
// per_frame + (frame * pool_groups + g) * cout + ch]. Needs cout <= THREADS (checked on the host).
// A block per call, not an element, matters: the stem's output is pooled, and computing it one
// channel at a time loaded each window 16 times (2.5x slower on lavapipe).

// POOL, THREADS (a workgroup's) and the lanes' sums (`pool_lanes`) come from the part after this
// one: window_plain.wgsl or window_pooled.wgsl, two shaders (ops/kernels.rs), so no dispatch
// branches on POOL and a plain one has but a word of workgroup memory to fill.

@compute @workgroup_size(THREADS)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let pixels = p.out_h * p.out_w;
    let per_frame = pixels * p.cout;
    if (!POOL) {
        let i = linear_index(gid, groups);
        if (i < p.frames * p.plain_items) { plain(i); }
        return;
    }
    let frame = wg.y;
    let blocks = p.cout / BLOCK;
    let step = THREADS / blocks;
    let first = wg.x * p.pool_pixels;
    let end = min(first + p.pool_pixels, pixels);
    var sums: array<f32, BLOCK_MAX>;
    if (t < step * blocks) {
        let ch0 = (t % blocks) * BLOCK;
        for (var px = first + t / blocks; px < end; px += step) {
            let v = block(frame, px, ch0);
            let at = frame * per_frame + px * p.cout + ch0;
            for (var j = 0u; j < BLOCK; j++) { sums[j] += store(at + j, v[j]); }
        }
    }
    // pool_lanes as [step][cout]: lane l * blocks + b's block lands at l * cout + b * BLOCK.
    for (var j = 0u; j < BLOCK; j++) { pool_lanes[t * BLOCK + j] = sums[j]; }
    workgroupBarrier();
    // Every thread adds up a share of one channel's strides, then one thread per channel adds
    // the shares: a serial depth of about 2 * sqrt(step), where one thread per channel adding
    // every stride was `step` deep (256 for the stem, whose 16 channels are one block).
    let ch = t % p.cout;
    let shares = THREADS / p.cout;
    let share = t / p.cout;
    var part = 0.0;
    if (share < shares) {
        for (var l = share; l < step; l += shares) { part += pool_lanes[l * p.cout + ch]; }
    }
    workgroupBarrier();
    if (share < shares) { pool_lanes[share * p.cout + ch] = part; }
    workgroupBarrier();
    if (t < p.cout) {
        var total = 0.0;
        for (var q = 0u; q < shares; q++) { total += pool_lanes[q * p.cout + t]; }
        out[p.frames * per_frame + (frame * p.pool_groups + wg.x) * p.cout + t] = total;
    }
}
