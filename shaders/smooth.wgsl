// Temporal smoothing of the 256x256 mask over a video's frames (reference/smoothing.rs), in two steps
// chosen by the STEP constant:
//   THUMB_STEP: one thread per block of the 32x32 thumbnail: the mean luma of the frame's pixels
//     in it, summed row by row as the CPU does, into thumbs[current * 1024 ..];
//   BLEND_STEP: one thread per mask value: every workgroup first takes the mean change between
//     this thumbnail and the previous one (a cut above scene_change, or the first frame, starts
//     over), then blends the raw probability into the history.

override STEP: u32 = 0u;
const THUMB_STEP: u32 = 0u;
const THUMB: u32 = 32u;
const THUMB_LEN: u32 = 1024u;

struct Params {
    img_w: u32, img_h: u32, current: u32, first: u32,
    strength: f32, motion: f32, scene_change: f32, _pad: u32,
}

// Read from storage, not a uniform: the thumbnail's loops are bounded by the frame's size, and
// lavapipe recompiles (and leaks) a kernel whose loops a uniform steers (separable.wgsl).
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> image: array<u32>;
@group(0) @binding(2) var<storage, read> raw: array<f32>;
@group(0) @binding(3) var<storage, read_write> thumbs: array<f32>;
@group(0) @binding(4) var<storage, read_write> smoothed: array<f32>;

var<workgroup> partial: array<f32, WG>;

// The first pixel index (of `size`) in block b: ceil(b * size / THUMB).
fn block_start(b: u32, size: u32) -> u32 {
    return (b * size + THUMB - 1u) / THUMB;
}

fn thumbnail(i: u32) {
    let bx = i % THUMB;
    let by = i / THUMB;
    var sum = 0.0;
    for (var y = block_start(by, p.img_h); y < block_start(by + 1u, p.img_h); y++) {
        for (var x = block_start(bx, p.img_w); x < block_start(bx + 1u, p.img_w); x++) {
            sum += luma(unpack_rgba(image[y * p.img_w + x]).rgb);
        }
    }
    let n = (block_start(bx + 1u, p.img_w) - block_start(bx, p.img_w))
          * (block_start(by + 1u, p.img_h) - block_start(by, p.img_h));
    thumbs[p.current * THUMB_LEN + i] = sum / f32(max(n, 1u));
}

fn blend(i: u32, lane: u32) {
    let previous = (1u - p.current) * THUMB_LEN;
    var change = 0.0;
    for (var j = lane; j < THUMB_LEN; j += WG) {
        change += abs(thumbs[p.current * THUMB_LEN + j] - thumbs[previous + j]);
    }
    partial[lane] = change;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if (lane < half) { partial[lane] += partial[lane + half]; }
        workgroupBarrier();
    }
    let restart = p.first == 1u || partial[0] / f32(THUMB_LEN) > p.scene_change;
    if (i >= arrayLength(&smoothed)) { return; }
    let now = raw[i];
    if (restart) {
        smoothed[i] = now;
        return;
    }
    let before = smoothed[i];
    // Smoothing::history: strength * (1 - (change / motion)^8).
    let x = min(abs(now - before) / p.motion, 1.0);
    let x2 = x * x;
    let x4 = x2 * x2;
    let history = p.strength * (1.0 - x4 * x4);
    smoothed[i] = history * before + (1.0 - history) * now;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
    let i = linear_index(gid, groups);
    if (STEP == THUMB_STEP) {
        if (i < THUMB_LEN) { thumbnail(i); }
    } else {
        blend(i, lane);
    }
}
