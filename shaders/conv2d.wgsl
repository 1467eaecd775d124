// General KxK convolution over all input channels, NHWC, TFLite SAME padding (pad_top/pad_left
// given; the bottom/right remainder falls outside the input). Used by
// the 3x3 stride-2 stem (3 input channels), where the whole window fits in registers and a GEMM
// formulation would not pay.
//
// One thread computes BLOCK output channels (all 16 of the stem) of PIXELS (4) neighbouring
// pixels, so each input of the window is loaded once, not once per output channel, and each
// weight once for the four pixels (SwiftShader, the browsers' software WebGPU: the stem 12.3-13.4
// ms with 2 pixels a thread, 8.8 with 4; 11.0 with 4 pixels of 8 channels). The weights are packed at plan
// build (ops/conv2d.rs `pack_weight`) as [group of BLOCK channels][tap][BLOCK rounded up to 4],
// so 4 channels' weights are one vec4 load. BLOCK (a divisor of cout, at most 16: ops/conv2d.rs `CONV_BLOCK`),
// GROUPS (cout / BLOCK) and CIN are pipeline constants (ops/conv2d.rs): the loops unroll, no
// lane idles, and where one block covers cout (the stem) every weight index is the same for
// every thread, which a compiler can see (one load for all lanes, not a gather per lane).
// Pooling (POOL, for a squeeze-excite gate pooled downstream: the stem's output is): a thread computes the same block of channels for a group's run of pixels
// (ops/conv2d.rs `Conv2d::sums`) and writes their sums itself, no workgroup memory and no
// barrier (SwiftShader: the stem 28 -> 19 ms against pooling in 64-thread workgroups).

// Parts: window_params, layer_io, epilogue, window_plain (shaders/parts/).

alias weight_t = vec4<param_t>;

override BLOCK: u32 = 16u;
override GROUPS: u32 = 1u;
override CIN: u32 = 3u;
override POOL: bool = false;

// Channels [4q, 4q + 4) of the block from o0 at window tap `tap` (zero past the block's end).
fn weights4(o0: u32, tap: u32, q: u32) -> vec4<f32> {
    let quads = (BLOCK + 3u) / 4u;
    return vec4<f32>(w[((o0 / BLOCK) * KERNEL * KERNEL * CIN + tap) * quads + q]);
}

// Biases past cout are read clamped (WGSL) and their channels never stored.
fn bias4(o: u32) -> vec4<f32> {
    return vec4<f32>(f32(bias[o]), f32(bias[o + 1u]), f32(bias[o + 2u]), f32(bias[o + 3u]));
}

// Up to 16 channels (BLOCK of them) as four vec4s: neither accumulated, stored nor summed
// through a private array indexed in a loop, which software rasterizers keep in memory
// (shaders/matmul.wgsl); the quads past BLOCK are branches on a constant. (A group's sums are
// written through one, once a group: write_block.)
struct Block { s0: vec4<f32>, s1: vec4<f32>, s2: vec4<f32>, s3: vec4<f32> }

// The blocks of PIXELS (4) neighbouring pixels.
struct Blocks { b0: Block, b1: Block, b2: Block, b3: Block }

const PIXELS: u32 = 4u;

// Row or column indices of 4 outputs' window tap k (window_tap for each): -1 in the padding.
fn taps4(o: vec4<u32>, k: u32, pad: u32, size: u32) -> vec4<i32> {
    let i = vec4<i32>(o * p.stride + k) - i32(pad);
    return select(vec4<i32>(-1), i, (i >= vec4<i32>()) & (i < vec4<i32>(i32(size))));
}

// Output channels [o0, o0 + BLOCK) of pixels px..px + 4 (the next in the frame, maybe on the
// next row, or past the frame: computed, never stored), before the epilogue: each weight loaded
// once for the four, each pixel's taps worked out once for their CIN channels.
fn blocks(frame: u32, px: u32, o0: u32) -> Blocks {
    let base = p.in_h * p.in_w * CIN * frame;
    let pixels = px + vec4<u32>(0u, 1u, 2u, 3u);
    let oy = pixels / p.out_w;
    let ox = pixels % p.out_w;
    let b = Block(bias4(o0), bias4(o0 + 4u), bias4(o0 + 8u), bias4(o0 + 12u));
    var r = Blocks(b, b, b, b);
    for (var ky = 0u; ky < KERNEL; ky++) {
        let iy = taps4(oy, ky, p.pad_top, p.in_h);
        for (var kx = 0u; kx < KERNEL; kx++) {
            let ix = taps4(ox, kx, p.pad_left, p.in_w);
            let inside = (iy >= vec4<i32>()) & (ix >= vec4<i32>());
            let at = base + (vec4<u32>(max(iy, vec4<i32>())) * p.in_w
                + vec4<u32>(max(ix, vec4<i32>()))) * CIN;
            for (var c = 0u; c < CIN; c++) {
                let tap = (ky * KERNEL + kx) * CIN + c;
                var w = Block(weights4(o0, tap, 0u), vec4<f32>(), vec4<f32>(), vec4<f32>());
                if (BLOCK > 4u) { w.s1 = weights4(o0, tap, 1u); }
                if (BLOCK > 8u) { w.s2 = weights4(o0, tap, 2u); }
                if (BLOCK > 12u) { w.s3 = weights4(o0, tap, 3u); }
                r.b0 = add_products(r.b0, select(0.0, x[at.x + c], inside.x), w);
                r.b1 = add_products(r.b1, select(0.0, x[at.y + c], inside.y), w);
                r.b2 = add_products(r.b2, select(0.0, x[at.z + c], inside.z), w);
                r.b3 = add_products(r.b3, select(0.0, x[at.w + c], inside.w), w);
            }
        }
    }
    return r;
}

// acc + v * w, the quads past BLOCK left alone.
fn add_products(acc: Block, v: f32, w: Block) -> Block {
    var r = acc;
    r.s0 += v * w.s0;
    if (BLOCK > 4u) { r.s1 += v * w.s1; }
    if (BLOCK > 8u) { r.s2 += v * w.s2; }
    if (BLOCK > 12u) { r.s3 += v * w.s3; }
    return r;
}

// Channels [4q, 4q + 4) of a block (those below BLOCK) into out from `at` through the
// epilogue; returns what was stored.
fn store_quad(at: u32, q: u32, v: vec4<f32>) -> vec4<f32> {
    let o = at + 4u * q;
    var stored = vec4<f32>();
    if (4u * q < BLOCK) { stored.x = store(o, v.x); }
    if (4u * q + 1u < BLOCK) { stored.y = store(o + 1u, v.y); }
    if (4u * q + 2u < BLOCK) { stored.z = store(o + 2u, v.z); }
    if (4u * q + 3u < BLOCK) { stored.w = store(o + 3u, v.w); }
    return stored;
}

fn store_block(at: u32, b: Block) -> Block {
    return Block(store_quad(at, 0u, b.s0), store_quad(at, 1u, b.s1), store_quad(at, 2u, b.s2),
                 store_quad(at, 3u, b.s3));
}

// A block's channels into out from `at` as they are (a group's sums).
fn write_block(at: u32, b: Block) {
    let quads = array<vec4<f32>, 4>(b.s0, b.s1, b.s2, b.s3);
    for (var o = 0u; o < BLOCK; o++) { out[at + o] = quads[o / 4u][o % 4u]; }
}

// Item i of p.items per frame. Plain: (frame, PIXELS pixels, block of BLOCK output channels).
// Pooling: (frame, group of pixels, block), every pixel of the group PIXELS at a time, then the
// group's sums of those channels after the frames' outputs.
fn item(i: u32) {
    let o0 = (i % GROUPS) * BLOCK;
    let pixels = p.out_h * p.out_w;
    if (!POOL) {
        let runs = (pixels + PIXELS - 1u) / PIXELS;
        let px = PIXELS * ((i / GROUPS) % runs);
        let frame = i / (GROUPS * runs);
        store_blocks(frame, px, px + PIXELS, o0);
        return;
    }
    let group = (i / GROUPS) % p.pool_groups;
    let frame = i / (GROUPS * p.pool_groups);
    let first = group * p.pool_pixels;
    let end = min(first + p.pool_pixels, pixels);
    var sums = Block();
    for (var px = first; px < end; px += PIXELS) {
        sums = add_blocks(sums, store_blocks(frame, px, end, o0));
    }
    let cout = GROUPS * BLOCK;
    write_block(p.frames * pixels * cout + (frame * p.pool_groups + group) * cout + o0, sums);
}

// Computes and stores pixels px..px + 4 of the frame, those before `end` (and inside it);
// returns the sum of what was stored.
fn store_blocks(frame: u32, px: u32, end: u32, o0: u32) -> Block {
    let pixels = p.out_h * p.out_w;
    let last = min(end, pixels);
    let cout = GROUPS * BLOCK;
    let v = blocks(frame, px, o0);
    let at = (frame * pixels + px) * cout + o0;
    var total = store_block(at, v.b0);
    if (px + 1u < last) { total = add_blocks(total, store_block(at + cout, v.b1)); }
    if (px + 2u < last) { total = add_blocks(total, store_block(at + 2u * cout, v.b2)); }
    if (px + 3u < last) { total = add_blocks(total, store_block(at + 3u * cout, v.b3)); }
    return total;
}

fn add_blocks(a: Block, b: Block) -> Block {
    return Block(a.s0 + b.s0, a.s1 + b.s1, a.s2 + b.s2, a.s3 + b.s3);
}
