// General KxK convolution over all input channels, NHWC, TFLite SAME padding (pad_top/pad_left
// given; the bottom/right remainder falls outside the input). Used by
// the 3x3 stride-2 stem (3 input channels), where the whole window fits in registers and a GEMM
// formulation would not pay.
//
// One thread computes BLOCK output channels of one pixel (all 16 of the stem), so each input
// of the window is loaded once, not once per output channel. The weights are packed at plan
// build (ops/conv2d.rs `pack_weight`) as [group of BLOCK channels][tap][BLOCK rounded up to 4],
// so 4 channels' weights are one vec4 load. BLOCK (a divisor of cout, at most 16: ops/conv2d.rs `CONV_BLOCK`),
// GROUPS (cout / BLOCK) and CIN are pipeline constants (ops/conv2d.rs): the loops unroll, no
// lane idles, and where one block covers cout (the stem) every weight index is the same for
// every thread, which a compiler can see (one load for all lanes, not a gather per lane).
// Pooling (POOL, for a squeeze-excite gate a later 1x1 computes in its prologue: the stem's
// output is pooled): a thread computes the same block of channels for a group's run of pixels
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

struct Blocks { first: Block, second: Block }

// Output channels [o0, o0 + BLOCK) of pixels px and px + 1 (the next in the frame, maybe on the
// next row, or past the frame: computed, never stored), before the epilogue: each weight loaded
// once for the two (the stem's weights are 108 vec4 loads a pixel, its inputs 27).
fn blocks(frame: u32, px: u32, o0: u32) -> Blocks {
    let base = p.in_h * p.in_w * CIN * frame;
    let oy = px / p.out_w;
    let ox = px % p.out_w;
    let oy1 = (px + 1u) / p.out_w;
    let ox1 = (px + 1u) % p.out_w;
    let b = Block(bias4(o0), bias4(o0 + 4u), bias4(o0 + 8u), bias4(o0 + 12u));
    var first = b;
    var second = b;
    for (var ky = 0u; ky < KERNEL; ky++) {
        let iy = vec2<i32>(window_tap(oy, ky, p.stride, p.pad_top, p.in_h),
                           window_tap(oy1, ky, p.stride, p.pad_top, p.in_h));
        for (var kx = 0u; kx < KERNEL; kx++) {
            // The two pixels' taps, worked out once for their CIN channels.
            let ix = vec2<i32>(window_tap(ox, kx, p.stride, p.pad_left, p.in_w),
                               window_tap(ox1, kx, p.stride, p.pad_left, p.in_w));
            let inside = iy >= vec2<i32>() & ix >= vec2<i32>();
            let at = base + (vec2<u32>(max(iy, vec2<i32>())) * p.in_w
                + vec2<u32>(max(ix, vec2<i32>()))) * CIN;
            for (var c = 0u; c < CIN; c++) {
                let tap = (ky * KERNEL + kx) * CIN + c;
                var w = Block(weights4(o0, tap, 0u), vec4<f32>(), vec4<f32>(), vec4<f32>());
                if (BLOCK > 4u) { w.s1 = weights4(o0, tap, 1u); }
                if (BLOCK > 8u) { w.s2 = weights4(o0, tap, 2u); }
                if (BLOCK > 12u) { w.s3 = weights4(o0, tap, 3u); }
                first = add_products(first, select(0.0, x[at.x + c], inside.x), w);
                second = add_products(second, select(0.0, x[at.y + c], inside.y), w);
            }
        }
    }
    return Blocks(first, second);
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

// Item i of p.items per frame. Plain: (frame, pair of pixels, block of BLOCK output channels).
// Pooling: (frame, group of pixels, block), every pixel of the group two at a time, then the
// group's sums of those channels after the frames' outputs.
fn item(i: u32) {
    let o0 = (i % GROUPS) * BLOCK;
    let pixels = p.out_h * p.out_w;
    let cout = GROUPS * BLOCK;
    if (!POOL) {
        let pairs = (pixels + 1u) / 2u;
        let px = 2u * ((i / GROUPS) % pairs);
        let frame = i / (GROUPS * pairs);
        let v = blocks(frame, px, o0);
        store_block((frame * pixels + px) * cout + o0, v.first);
        if (px + 1u < pixels) { store_block((frame * pixels + px + 1u) * cout + o0, v.second); }
        return;
    }
    let group = (i / GROUPS) % p.pool_groups;
    let frame = i / (GROUPS * p.pool_groups);
    let first = group * p.pool_pixels;
    let end = min(first + p.pool_pixels, pixels);
    var sums = Block();
    for (var px = first; px < end; px += 2u) {
        let v = blocks(frame, px, o0);
        sums = add_blocks(sums, store_block((frame * pixels + px) * cout + o0, v.first));
        if (px + 1u < end) {
            sums = add_blocks(sums, store_block((frame * pixels + px + 1u) * cout + o0, v.second));
        }
    }
    write_block(p.frames * pixels * cout + (frame * p.pool_groups + group) * cout + o0, sums);
}

fn add_blocks(a: Block, b: Block) -> Block {
    return Block(a.s0 + b.s0, a.s1 + b.s1, a.s2 + b.s2, a.s3 + b.s3);
}
