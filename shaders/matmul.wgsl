// C[m, n] = act((A[m, k] * gate[k] + plus[m, k]) . B[k, n] + bias[n] + up(plus)[m, n]) + add[m, n],
// where each frame of frame_rows rows has its own gate (k values), and plus is added to A or,
// upsampled, to the product (PLUS_MODE).
// The pointwise (1x1) convolutions are this with m = pixels, k = in channels, n = out channels.
// Tiles: a 64-thread workgroup computes a TILE_M x TILE_N block of C, each thread 4 consecutive
// rows by COLS columns strided by TX, so that neighbouring threads touch neighbouring columns
// (coalesced loads, stores). K advances 16 at a time through workgroup memory where A is
// computed as it is loaded (a tile shares that work among the columns' threads). Edges are
// zero-filled, so any m, n, k works. Where A is only read (DIRECT: plain or gated, a skip
// added), each thread reads its rows and columns itself, clamped into A and B: no tile, no
// barrier, no load branch (on SwiftShader 3x the tiled path's speed on this network's 32- to
// 128-channel 1x1s, 1.7x on its 16-channel ones).
//
// Fused around it (ops/matmul.rs):
// - GATE_MODE 1: the gate is a buffer [frames, k] (ops/channel_gate.rs computes it from the
//   pooled tensor's sums: a gate in every workgroup's prologue cost SwiftShader more).
// - PLUS_MODE 1: plus is [m, k], added to A. 2: plus is a half-resolution [plus_h, plus_w, n]
//   tensor, upsampled x2 bilinearly and added to the product before the epilogue (C's rows are
//   the pixels of `width`-wide frames): a skip already through B at a quarter of the pixels
//   (passes/upsample_into_loads.rs), which every column's thread would otherwise upsample
//   again, k channels of it, as it loaded A.
// - A_MODE 1 and 2: A is not stored but computed as it is loaded, act(op(a)) with the op's
//   weights and bias in `b` after B (pro_w_off, pro_b_off): 1 a depthwise KxK of `a`
//   ([frames, in_h, in_w, k], SAME padding, weights [K, K, k]; C's rows are the pixels of
//   `width`-wide frames), a depthwise-separable convolution whose add comes in as plus; 2 a 1x1
//   of `a` ([m, in_c], weights [in_c, k]), two 1x1s back to back.
// - POOL: after C, the per-channel sums of each thread's 4 rows of C (ops/sums.rs), for a gate
//   pooled downstream: written by the thread itself, no workgroup reduction and no barrier
//   (SwiftShader, the browsers' software WebGPU, ran a direct 1x1 1-2 ms slower with one).

// The modes are pipeline constants (ops/matmul.rs sets them per dispatch): no mode is a runtime
// branch, and the depthwise window's loops unroll.
override A_MODE: u32 = 0u;
override GATE_MODE: u32 = 0u;
override PLUS_MODE: u32 = 0u;
override POOL: bool = false;
override HAS_BIAS: bool = false;
override DW_KERNEL: u32 = 3u;
override PRO_ACT: u32 = 0u;
// A is plain or gated, a skip added: each thread reads its own A rows and B columns, no
// workgroup tile and no barrier, two row tiles at once, B's loads shared (ops/matmul.rs picks
// it).
override DIRECT: bool = false;
// The tiled path loads a computed A 4 channels at a time (k a multiple of 4): LANES.
override QUADS: bool = false;
// A thread's 4 rows lie inside one frame (frame_rows a multiple of 4): they share their gate
// (GATE_MODE 1), one load a column, not four.
override FRAME_ROWS4: bool = false;

struct Params {
    m: u32, n: u32, k: u32, frame_rows: u32,
    width: u32, plus_h: u32, plus_w: u32, in_h: u32,
    in_w: u32, dw_stride: u32, pad_top: u32, pad_left: u32,
    pro_w_off: u32, pro_b_off: u32, in_c: u32, _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<param_t>;
@group(0) @binding(3) var<storage, read> bias: array<param_t>;
@group(0) @binding(4) var<storage, read> gate: array<f32>;
@group(0) @binding(5) var<storage, read> add: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read> plus: array<f32>;

const TILE: u32 = 32u;
// Output columns per thread, strided by TX, the threads across a workgroup (ops/matmul.rs picks
// both): the tiled path 8 across (its tiles' 8x8) and 1..4 columns; DIRECT up to 8 columns and
// 1 to 8 across, so each A value a thread loads serves as many columns as n allows (loads are
// most of a direct 1x1's time on SwiftShader). A workgroup's tile is TILE_M = 4 * 64 / TX rows
// by TILE_N = TX * COLS columns.
override COLS: u32 = 4u;
override TX: u32 = 8u;
override TILE_N: u32 = TX * COLS;
override TILE_M: u32 = 4u * (64u / TX);
const TILE_K: u32 = 16u;
const THREADS: u32 = 64u;

// A row of TILE_K + 1: a stride of 17 words puts the rows a column step reads in different banks.
var<workgroup> a_tile: array<array<f32, TILE_K + 1u>, TILE>;
var<workgroup> b_tile: array<array<f32, TILE>, TILE_K>;

// Part: epilogue (shaders/parts/).

// Where the thread's 4 rows from `row` sample the half-resolution skip (PLUS_MODE 2), as
// reference::resize_bilinear: each row's four taps' pixels and the weights across and down. A
// frame's width is a multiple of 4 (checked on the host), so the 4 rows are 4 pixels of one
// image row: they share their taps down, and only the first row's pixel is divided out.
struct SkipTaps { i00: vec4<u32>, i01: vec4<u32>, i10: vec4<u32>, i11: vec4<u32>,
                  wx: vec4<f32>, wy: f32 }

fn skip_taps(row0: u32) -> SkipTaps {
    // A tile past C (the second of a pair) samples inside the skip, and is never stored.
    let row = min(row0, p.m - 1u);
    let px = row % p.frame_rows;
    let ty = taps(px / p.width, p.plus_h, 2u * p.plus_h);
    let x = vec4<f32>(f32(px % p.width)) + vec4<f32>(0.0, 1.0, 2.0, 3.0);
    // taps() across, for the 4 columns at once.
    let in_w = f32(p.plus_w);
    let src = max((x + 0.5) * 0.5 - 0.5, vec4<f32>());
    let x0 = min(floor(src), vec4<f32>(in_w - 1.0));
    let x1 = min(x0 + 1.0, vec4<f32>(in_w - 1.0));
    let base = (row / p.frame_rows) * p.plus_h * p.plus_w;
    let top = vec4<u32>(base + u32(ty.x) * p.plus_w);
    let bottom = vec4<u32>(base + u32(ty.y) * p.plus_w);
    let l = vec4<u32>(x0);
    let r = vec4<u32>(x1);
    return SkipTaps(top + l, top + r, bottom + l, bottom + r, src - x0, ty.z);
}

fn plus_at(i: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(plus[i.x], plus[i.y], plus[i.z], plus[i.w]);
}

// Column c of the upsampled skip at the thread's 4 rows (c clamped into C: its value is stored
// only inside), blended as bilerp() does.
fn skip_rows(t: SkipTaps, col: u32) -> vec4<f32> {
    let c = min(col, p.n - 1u);
    let v00 = plus_at(t.i00 * p.n + c);
    let v01 = plus_at(t.i01 * p.n + c);
    let v10 = plus_at(t.i10 * p.n + c);
    let v11 = plus_at(t.i11 * p.n + c);
    let top = v00 * (1.0 - t.wx) + v01 * t.wx;
    let bottom = v10 * (1.0 - t.wx) + v11 * t.wx;
    return top * (1.0 - t.wy) + bottom * t.wy;
}

// Channels per A load: 4 where QUADS (a computed A then shares its inputs and index arithmetic
// among them), else 1. The helpers below fill the vector's first LANES lanes, the rest 0.
override LANES: u32 = select(1u, 4u, QUADS);

fn a_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(a[i], 0.0, 0.0, 0.0); }
    return vec4<f32>(a[i], a[i + 1u], a[i + 2u], a[i + 3u]);
}

fn b_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(f32(b[i]), 0.0, 0.0, 0.0); }
    return vec4<f32>(f32(b[i]), f32(b[i + 1u]), f32(b[i + 2u]), f32(b[i + 3u]));
}

fn gate_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(gate[i], 0.0, 0.0, 0.0); }
    return vec4<f32>(gate[i], gate[i + 1u], gate[i + 2u], gate[i + 3u]);
}

fn plus_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(plus[i], 0.0, 0.0, 0.0); }
    return vec4<f32>(plus[i], plus[i + 1u], plus[i + 2u], plus[i + 3u]);
}

// A[row, c..) of a depthwise-separable convolution (A_MODE 1): the depthwise at that pixel.
fn depthwise_a(row: u32, c: u32) -> vec4<f32> {
    let frame = row / p.frame_rows;
    let px = row % p.frame_rows;
    let oy = px / p.width;
    let ox = px % p.width;
    let base = frame * p.in_h * p.in_w * p.k;
    var sum = b_lanes(p.pro_b_off + c);
    for (var ky = 0u; ky < DW_KERNEL; ky++) {
        let iy = window_tap(oy, ky, p.dw_stride, p.pad_top, p.in_h);
        if (iy < 0) { continue; }
        for (var kx = 0u; kx < DW_KERNEL; kx++) {
            let ix = window_tap(ox, kx, p.dw_stride, p.pad_left, p.in_w);
            if (ix < 0) { continue; }
            let w = b_lanes(p.pro_w_off + (ky * DW_KERNEL + kx) * p.k + c);
            sum += a_lanes(base + (u32(iy) * p.in_w + u32(ix)) * p.k + c) * w;
        }
    }
    return activate_lanes(sum, PRO_ACT);
}

// A[row, c..) of two 1x1s back to back (A_MODE 2): the first at that pixel, each input read
// once for all lanes.
fn pointwise_a(row: u32, c: u32) -> vec4<f32> {
    var sum = b_lanes(p.pro_b_off + c);
    for (var j = 0u; j < p.in_c; j++) {
        sum += a[row * p.in_c + j] * b_lanes(p.pro_w_off + j * p.k + c);
    }
    return activate_lanes(sum, PRO_ACT);
}

// A[row, c..c + LANES) as the tile holds it: computed (A_MODE), gated, plus the skip; 0 outside
// A.
fn a_element(row: u32, c: u32) -> vec4<f32> {
    if (row >= p.m || c >= p.k) { return vec4<f32>(); }
    var v: vec4<f32>;
    switch A_MODE {
        case 1u: { v = depthwise_a(row, c); }
        case 2u: { v = pointwise_a(row, c); }
        default: { v = a_lanes(row * p.k + c); }
    }
    if (GATE_MODE == 1u) { v *= gate_lanes((row / p.frame_rows) * p.k + c); }
    if (PLUS_MODE == 1u) { v += plus_lanes(row * p.k + c); }
    return v;
}

// A at 4 rows (DIRECT: A is only read), gated and plus the skip: `at` their elements' indices
// in A (and plus), `gates` in the given gate.
fn direct_a(at: vec4<u32>, gates: vec4<u32>) -> vec4<f32> {
    var v = vec4<f32>(a[at.x], a[at.y], a[at.z], a[at.w]);
    if (GATE_MODE == 1u && FRAME_ROWS4) { v *= gate[gates.x]; }
    if (GATE_MODE == 1u && !FRAME_ROWS4) {
        v *= vec4<f32>(gate[gates.x], gate[gates.y], gate[gates.z], gate[gates.w]);
    }
    if (PLUS_MODE == 1u) { v += vec4<f32>(plus[at.x], plus[at.y], plus[at.z], plus[at.w]); }
    return v;
}

// B[r, c], 0 outside B.
fn b_element(r: u32, c: u32) -> f32 {
    if (r >= p.k || c >= p.n) { return 0.0; }
    return f32(b[r * p.n + c]);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let col0 = wg.x * TILE_N;
    if (!DIRECT) {
        finish_tile(wg.y * TILE, col0, lid.xy, tiled(wg.y * TILE, col0, lid, li));
        return;
    }
    // The thread's column and row group in a TX-wide workgroup.
    let t = vec2<u32>(li % TX, li / TX);
    let row0 = 2u * wg.y * TILE_M;
    let pair = direct(row0, col0, t);
    finish_tile(row0, col0, t, pair.first);
    finish_tile(row0 + TILE_M, col0, t, pair.second);
}

// A row tile's share of one thread: column j of its micro-tile (up to 8) in c_j, its 4 rows as
// the vector's lanes. Vector arithmetic and no private array indexed in a loop (software
// rasterizers keep such an array in memory); COLS is a pipeline constant, so the unused
// columns' branches fold away.
struct Acc { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>,
             c4: vec4<f32>, c5: vec4<f32>, c6: vec4<f32>, c7: vec4<f32> }

struct Pair { first: Acc, second: Acc }

// DIRECT: the thread's share of the row tile from row0 and of the next one, B's
// loads shared by the two (loads are three quarters of a direct 1x1 on SwiftShader). Its rows
// and columns clamped into A and B: those past the edge are computed from the last row or
// column and never stored, and no load branches (the bounds checks of a_element and b_element
// took 40% of SwiftShader's time on these layers).
fn direct(row0: u32, col0: u32, t: vec2<u32>) -> Pair {
    let cols = min(col0 + t.x + TX * vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.n - 1u));
    let cols_hi = min(cols + 4u * TX, vec4<u32>(p.n - 1u));
    let mine = 4u * t.y + vec4<u32>(0u, 1u, 2u, 3u);
    let rows = min(row0 + mine, vec4<u32>(p.m - 1u));
    let next = min(row0 + TILE_M + mine, vec4<u32>(p.m - 1u));
    let at = rows * p.k;
    let at_next = next * p.k;
    let gates = (rows / p.frame_rows) * p.k;
    let gates_next = (next / p.frame_rows) * p.k;
    var acc = Acc();
    var acc_next = Acc();
    for (var kk = 0u; kk < p.k; kk++) {
        let bv = kk * p.n + cols;
        var w = vec4<f32>(f32(b[bv.x]), 0.0, 0.0, 0.0);
        if (COLS > 1u) { w.y = f32(b[bv.y]); }
        if (COLS > 2u) { w.z = f32(b[bv.z]); }
        if (COLS > 3u) { w.w = f32(b[bv.w]); }
        var w_hi = vec4<f32>();
        if (COLS > 4u) {
            let bh = kk * p.n + cols_hi;
            w_hi.x = f32(b[bh.x]);
            if (COLS > 5u) { w_hi.y = f32(b[bh.y]); }
            if (COLS > 6u) { w_hi.z = f32(b[bh.z]); }
            if (COLS > 7u) { w_hi.w = f32(b[bh.w]); }
        }
        acc = add_products(acc, direct_a(at + kk, gates + kk), w, w_hi);
        acc_next = add_products(acc_next, direct_a(at_next + kk, gates_next + kk), w, w_hi);
    }
    return Pair(acc, acc_next);
}

// acc plus the products of 4 rows of A (av) with the COLS columns' weights w (and w_hi).
fn add_products(acc: Acc, av: vec4<f32>, w: vec4<f32>, w_hi: vec4<f32>) -> Acc {
    var r = acc;
    r.c0 += av * w.x;
    if (COLS > 1u) { r.c1 += av * w.y; }
    if (COLS > 2u) { r.c2 += av * w.z; }
    if (COLS > 3u) { r.c3 += av * w.w; }
    if (COLS > 4u) { r.c4 += av * w_hi.x; }
    if (COLS > 5u) { r.c5 += av * w_hi.y; }
    if (COLS > 6u) { r.c6 += av * w_hi.z; }
    if (COLS > 7u) { r.c7 += av * w_hi.w; }
    return r;
}

// The thread's share of the row tile from row0 through workgroup tiles, K in steps of TILE_K.
fn tiled(row0: u32, col0: u32, lid: vec3<u32>, li: u32) -> Acc {
    var acc = Acc();
    for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
        // LANES channels of a row a load.
        let loads = TILE_K / LANES;
        for (var i = li; i < TILE * loads; i += THREADS) {
            let r = i / loads;
            let c = (i % loads) * LANES;
            let v = a_element(row0 + r, k0 + c);
            for (var l = 0u; l < LANES; l++) { a_tile[r][c + l] = v[l]; }
        }
        for (var i = li; i < TILE_K * TILE_N; i += THREADS) {
            let r = i / TILE_N;
            let c = i % TILE_N;
            b_tile[r][c] = b_element(k0 + r, col0 + c);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let r = 4u * lid.y;
            let av = vec4<f32>(a_tile[r][kk], a_tile[r + 1u][kk], a_tile[r + 2u][kk],
                               a_tile[r + 3u][kk]);
            var w = vec4<f32>(b_tile[kk][lid.x], 0.0, 0.0, 0.0);
            if (COLS > 1u) { w.y = b_tile[kk][lid.x + 8u]; }
            if (COLS > 2u) { w.z = b_tile[kk][lid.x + 16u]; }
            if (COLS > 3u) { w.w = b_tile[kk][lid.x + 24u]; }
            acc = add_products(acc, av, w, vec4<f32>());
        }
        workgroupBarrier();
    }
    return acc;
}

// Stores the thread's share of the row tile from row0 (thread t: its column t.x and row group
// t.y, columns from col0 strided by TX) through the epilogue, and where POOL its rows'
// per-column sums after C (group row / 4: a frame's rows a multiple of 4, checked on the host).
// Branches, not select(): select evaluates both sides, and a column past COLS is the next
// tile's.
fn finish_tile(row0: u32, col0: u32, t: vec2<u32>, acc: Acc) {
    let row = row0 + 4u * t.y;
    let col = col0 + t.x;
    var taps: SkipTaps;
    if (PLUS_MODE == 2u) { taps = skip_taps(row); }
    let at = p.m * p.n + (row / 4u) * p.n;
    finish_column(row, col, taps, acc.c0, at);
    if (COLS > 1u) { finish_column(row, col + TX, taps, acc.c1, at); }
    if (COLS > 2u) { finish_column(row, col + 2u * TX, taps, acc.c2, at); }
    if (COLS > 3u) { finish_column(row, col + 3u * TX, taps, acc.c3, at); }
    if (COLS > 4u) { finish_column(row, col + 4u * TX, taps, acc.c4, at); }
    if (COLS > 5u) { finish_column(row, col + 5u * TX, taps, acc.c5, at); }
    if (COLS > 6u) { finish_column(row, col + 6u * TX, taps, acc.c6, at); }
    if (COLS > 7u) { finish_column(row, col + 7u * TX, taps, acc.c7, at); }
}

// Column col of the thread's 4 rows: plus the upsampled skip, stored, and where POOL their sum
// stored at `at + col` (one call per accumulator: see store_column).
fn finish_column(row: u32, col: u32, taps: SkipTaps, acc: vec4<f32>, at: u32) {
    var v = acc;
    if (PLUS_MODE == 2u) { v += skip_rows(taps, col); }
    let sum = store_column(row, col, v);
    if (POOL && row < p.m && col < p.n) { out[at + col] = sum; }
}

// Stores column `col` of the thread's 4 rows from `row` through the epilogue,
// those inside C; returns the sum of what was stored. One call per accumulator, not a loop over
// an array of them: software rasterizers keep a private array indexed in a loop in memory.
fn store_column(row: u32, col: u32, acc: vec4<f32>) -> f32 {
    if (col >= p.n) { return 0.0; }
    var v = acc;
    if (HAS_BIAS) { v += f32(bias[col]); }
    var total = 0.0;
    if (row < p.m) { total += store(row * p.n + col, v.x); }
    if (row + 1u < p.m) { total += store((row + 1u) * p.n + col, v.y); }
    if (row + 2u < p.m) { total += store((row + 2u) * p.n + col, v.z); }
    if (row + 3u < p.m) { total += store((row + 3u) * p.n + col, v.w); }
    return total;
}
