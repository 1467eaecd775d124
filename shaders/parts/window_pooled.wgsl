// The entry point of a windowed convolution that pools in workgroups (conv2d, for a
// squeeze-excite gate a later 1x1 computes in its prologue): each kernel defines
// `block(frame, px, ch0)`, the raw results (before the epilogue) of BLOCK channels from ch0 at
// one output pixel, in an array<f32, BLOCK_MAX>. Workgroup (g, frame) computes pixels
// [g * pool_pixels, (g + 1) * pool_pixels) of its frame, each thread one block of channels of
// THREADS / (cout / BLOCK) pixels at a time, and writes that group's per-channel sums of the
// stored values after the frames' outputs: out[frames * per_frame + (frame * pool_groups + g) *
// cout + ch]. Needs cout <= THREADS (checked on the host). A block per call, not an element,
// matters: the stem's output is pooled, and computing it one channel at a time loaded each
// window 16 times (2.5x slower on lavapipe).
//
// Each lane's block of sums waits in workgroup memory, POOL_THREADS (the kernel's) threads a
// workgroup: fewer than WG where a block is wide, as workgroup memory is zero-filled before a
// workgroup runs and costs SwiftShader by its size (the stem took 95.6 ms with 256 threads of
// 16 sums, 16 KiB, and 32.5 with 64).

const THREADS: u32 = POOL_THREADS;
var<workgroup> pool_lanes: array<f32, THREADS * BLOCK_MAX>;

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let pixels = p.out_h * p.out_w;
    let per_frame = pixels * p.cout;
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
