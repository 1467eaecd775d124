// C[m, n] = act((A[m, k] * gate[k] + plus[m, k]) . B[k, n] + bias[n]) + add[m, n], where each
// frame of frame_rows rows has its own gate (k values).
// The pointwise (1x1) convolutions are this with m = pixels, k = in channels, n = out channels.
// Tiles: a 8x8 workgroup computes a 32 x (8 * COLS) block of C, each thread a 4 x COLS micro-tile
// strided by 8 so that neighbouring threads touch neighbouring columns (coalesced loads, stores). K advances
// 16 at a time through workgroup memory where A is computed as it is loaded or its skip is
// upsampled as loaded (a tile shares that work among the columns' threads). Edges are
// zero-filled, so any m, n, k works. Where A is only read (DIRECT: plain or gated, a skip
// added), each thread reads its rows and columns itself, clamped into A and B: no tile, no
// barrier, no load branch (on SwiftShader 3x the tiled path's speed on this network's 32- to
// 128-channel 1x1s, 1.7x on its 16-channel ones).
//
// Fused around it (ops/matmul.rs):
// - GATE_MODE 1: the gate is a buffer [frames, k]. 2 (pooled): every workgroup computes its
//   frame's squeeze-excite gate in a prologue from the per-channel sums (ops/sums.rs) that the
//   pooled tensor's producer left after it in `gate` (plus, when plus_groups > 0, those of
//   `plus`): mean, FC (-> relu -> FC) -> sigmoid, the FC parameters in `b` after B; the FC's
//   dot products by subgroups where the device has them.
// - PLUS_MODE 1: plus is [m, k]. 2: plus is the half-resolution [plus_h, plus_w, k] tensor,
//   upsampled x2 bilinearly as it is loaded (C's rows are the pixels of `width`-wide frames).
// - A_MODE 1 and 2: A is not stored but computed as it is loaded, act(op(a)) with the op's
//   weights and bias in `b` after B (pro_w_off, pro_b_off): 1 a depthwise KxK of `a`
//   ([frames, in_h, in_w, k], SAME padding, weights [K, K, k]; C's rows are the pixels of
//   `width`-wide frames), a depthwise-separable convolution whose add comes in as plus; 2 a 1x1
//   of `a` ([m, in_c], weights [in_c, k]), two 1x1s back to back.
// - POOL: after C, the per-channel sums of each 32-row tile of C (ops/sums.rs), for a gate
//   pooled downstream.

// The modes are pipeline constants (ops/matmul.rs sets them per dispatch): no mode is a runtime
// branch, and the depthwise window's loops unroll.
override A_MODE: u32 = 0u;
override GATE_MODE: u32 = 0u;
override PLUS_MODE: u32 = 0u;
override POOL: bool = false;
override HAS_BIAS: bool = false;
override FC_LAYERS: u32 = 2u;
override DW_KERNEL: u32 = 3u;
override PRO_ACT: u32 = 0u;
// A is plain or gated, a skip added: each thread reads its own A rows and B columns, no
// workgroup tile and no barrier (ops/matmul.rs picks it).
override DIRECT: bool = false;
// Row tiles a workgroup computes one after another: with a pooled gate, fewer workgroups each
// computing the gate (ops/matmul.rs picks it).
override ROW_TILES: u32 = 1u;
// DIRECT takes its row tiles two at a time, B's loads shared (ROW_TILES even: ops/matmul.rs).
override PAIRED: bool = false;
// The tiled path loads a computed A 4 channels at a time (k a multiple of 4): LANES.
override QUADS: bool = false;

struct Params {
    m: u32, n: u32, k: u32, frame_rows: u32,
    width: u32, plus_h: u32, plus_w: u32, src_c: u32,
    src_groups: u32, src_pixels: u32, src_off: u32, plus_groups: u32,
    plus_pixels: u32, plus_off: u32, hidden: u32, w1_off: u32,
    b1_off: u32, w2_off: u32, b2_off: u32, in_h: u32,
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
// Output columns per thread (1..4; ops/matmul.rs picks the fewest idle columns for n): a
// workgroup's tile is TILE rows by TILE_N = 8 * COLS columns, so a 16-wide layer idles no thread.
override COLS: u32 = 4u;
override TILE_N: u32 = 8u * COLS;
const TILE_K: u32 = 16u;
const THREADS: u32 = 64u;
// Widest pooled gate: channels in, hidden and out (checked on the host).
const MAX_GATE: u32 = 256u;

// A row of TILE_K + 1: a column-major load (PLUS_MODE 2) writes 32 rows at once, and a stride
// of 17 words puts them in 32 different banks.
var<workgroup> a_tile: array<array<f32, TILE_K + 1u>, TILE>;
var<workgroup> b_tile: array<array<f32, TILE>, TILE_K>;
var<workgroup> pooled: array<f32, MAX_GATE>;
var<workgroup> hidden: array<f32, MAX_GATE>;
var<workgroup> gate_k: array<f32, MAX_GATE>;
var<workgroup> column_sums: array<array<f32, TILE>, 8>;

// Part: epilogue (shaders/parts/).

// An FC layer of the gate: output o = act(bias + w[o, :] . in) for o < outs, `in` the pooled
// means or the hidden layer, into hidden (relu) or gate_k (sigmoid). A group of lanes
// (parts/subgroups.wgsl) per output, its lanes splitting the inputs: with subgroups, neighbouring
// lanes read neighbouring weights and the serial depth is ins / size; without, a thread per
// output.
fn fc_layer(lanes: Lanes, outs: u32, w_off: u32, b_off: u32, ins: u32, from_hidden: bool,
            to_gate: bool) {
    for (var o = lanes.index; o < outs; o += lanes.count) {
        var s = 0.0;
        for (var c = lanes.lane; c < ins; c += lanes.size) {
            s += f32(b[w_off + o * ins + c]) * select(pooled[c], hidden[c], from_hidden);
        }
        let v = lanes_sum(s) + f32(b[b_off + o]);
        if (lanes.lane == 0u) {
            if (to_gate) { gate_k[o] = activate(v, ACT_SIGMOID); } else { hidden[o] = activate(v, ACT_RELU); }
        }
    }
}

// Frame `frame`'s squeeze-excite gate into gate_k (GATE_MODE 2).
fn pooled_gate(li: u32, frame: u32) {
    // The means, from the producers' group sums. Where there are fewer channels than threads,
    // each channel's groups are shared among THREADS / src_c threads (their parts wait in
    // `hidden`, free until the FC), so every thread adds: 16 channels of 128 + 64 groups took
    // 16 threads 192 loads deep each, now 64 threads 48 deep.
    let shares = max(THREADS / p.src_c, 1u);
    let share = li / p.src_c;
    if (share < shares) {
        for (var c = li % p.src_c; c < p.src_c; c += THREADS) {
            var s = 0.0;
            for (var g = share; g < p.src_groups; g += shares) {
                s += gate[p.src_off + (frame * p.src_groups + g) * p.src_c + c];
            }
            var part = s / f32(p.src_pixels);
            if (p.plus_groups > 0u) {
                var t = 0.0;
                for (var g = share; g < p.plus_groups; g += shares) {
                    t += plus[p.plus_off + (frame * p.plus_groups + g) * p.src_c + c];
                }
                part += t / f32(p.plus_pixels);
            }
            hidden[share * p.src_c + c] = part;
        }
    }
    workgroupBarrier();
    for (var c = li; c < p.src_c; c += THREADS) {
        var mean = 0.0;
        for (var q = 0u; q < shares; q++) { mean += hidden[q * p.src_c + c]; }
        pooled[c] = mean;
    }
    workgroupBarrier();
    let lanes = lanes_of(li, THREADS);
    if (FC_LAYERS == 1u) {
        fc_layer(lanes, p.k, p.w1_off, p.b1_off, p.src_c, false, true);
    } else {
        fc_layer(lanes, p.hidden, p.w1_off, p.b1_off, p.src_c, false, false);
        workgroupBarrier();
        fc_layer(lanes, p.k, p.w2_off, p.b2_off, p.hidden, true, true);
    }
    workgroupBarrier();
}

// Where row `row` of C samples the half-resolution skip (PLUS_MODE 2): its frame's first pixel
// and the bilinear taps (as reference::resize_bilinear), worked out once per row.
struct SkipTaps { base: u32, ty: vec3<f32>, tx: vec3<f32> }

fn skip_taps(row: u32) -> SkipTaps {
    let px = row % p.frame_rows;
    let ty = taps(px / p.width, p.plus_h, 2u * p.plus_h);
    let tx = taps(px % p.width, p.plus_w, 2u * p.plus_w);
    return SkipTaps((row / p.frame_rows) * p.plus_h * p.plus_w, ty, tx);
}

// Channel c of the upsampled skip (PLUS_MODE 2): the x2 bilinear sample of the half-resolution
// plus at a row's taps.
fn skip(t: SkipTaps, c: u32) -> f32 {
    let v00 = plus[(t.base + u32(t.ty.x) * p.plus_w + u32(t.tx.x)) * p.k + c];
    let v01 = plus[(t.base + u32(t.ty.x) * p.plus_w + u32(t.tx.y)) * p.k + c];
    let v10 = plus[(t.base + u32(t.ty.y) * p.plus_w + u32(t.tx.x)) * p.k + c];
    let v11 = plus[(t.base + u32(t.ty.y) * p.plus_w + u32(t.tx.y)) * p.k + c];
    return bilerp(v00, v01, v10, v11, t.tx, t.ty);
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

fn gate_k_lanes(i: u32) -> vec4<f32> {
    if (LANES == 1u) { return vec4<f32>(gate_k[i], 0.0, 0.0, 0.0); }
    return vec4<f32>(gate_k[i], gate_k[i + 1u], gate_k[i + 2u], gate_k[i + 3u]);
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
// A. (An upsampled skip comes with LANES 1: ops/matmul.rs.)
fn a_element(row: u32, c: u32, t: SkipTaps) -> vec4<f32> {
    if (row >= p.m || c >= p.k) { return vec4<f32>(); }
    var v: vec4<f32>;
    switch A_MODE {
        case 1u: { v = depthwise_a(row, c); }
        case 2u: { v = pointwise_a(row, c); }
        default: { v = a_lanes(row * p.k + c); }
    }
    if (GATE_MODE == 1u) { v *= gate_lanes((row / p.frame_rows) * p.k + c); }
    if (GATE_MODE == 2u) { v *= gate_k_lanes(c); }
    if (PLUS_MODE == 1u) { v += plus_lanes(row * p.k + c); }
    if (PLUS_MODE == 2u) { v.x += skip(t, c); }
    return v;
}

// A at 4 rows (DIRECT: A is only read), gated and plus the skip: `at` their elements' indices
// in A (and plus), `gates` in the given gate, kk the column.
fn direct_a(at: vec4<u32>, gates: vec4<u32>, kk: u32) -> vec4<f32> {
    var v = vec4<f32>(a[at.x], a[at.y], a[at.z], a[at.w]);
    if (GATE_MODE == 1u) { v *= vec4<f32>(gate[gates.x], gate[gates.y], gate[gates.z], gate[gates.w]); }
    if (GATE_MODE == 2u) { v *= gate_k[kk]; }
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
    let first = wg.y * ROW_TILES;
    let col0 = wg.x * TILE_N;
    // A pooled gate needs the workgroup's tiles inside one frame (frame_rows a multiple of
    // ROW_TILES * TILE: checked on the host).
    if (GATE_MODE == 2u) { pooled_gate(li, first * TILE / p.frame_rows); }
    for (var tile = first; tile < first + ROW_TILES; tile += select(1u, 2u, PAIRED)) {
        if (!DIRECT) {
            finish_tile(tile, col0, lid, li, tiled(tile * TILE, col0, lid, li));
            continue;
        }
        let pair = direct(tile * TILE, col0, lid);
        finish_tile(tile, col0, lid, li, pair.first);
        if (PAIRED) { finish_tile(tile + 1u, col0, lid, li, pair.second); }
    }
}

// A row tile's share of one thread: column j of its micro-tile in c_j, its 4 rows (strided by
// 8) as the vector's lanes. Vector arithmetic and no private array indexed in a loop (software
// rasterizers keep such an array in memory); COLS is a pipeline constant, so the unused
// columns' branches fold away.
struct Acc { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32> }

struct Pair { first: Acc, second: Acc }

// DIRECT: the thread's share of the row tile from row0 and, where PAIRED, of the next one, B's
// loads shared by the two (loads are three quarters of a direct 1x1 on SwiftShader). Its rows
// and columns clamped into A and B: those past the edge are computed from the last row or
// column and never stored, and no load branches (the bounds checks of a_element and b_element
// took 40% of SwiftShader's time on these layers).
fn direct(row0: u32, col0: u32, lid: vec3<u32>) -> Pair {
    let strides = vec4<u32>(0u, 8u, 16u, 24u);
    let cols = min(col0 + lid.x + strides, vec4<u32>(p.n - 1u));
    let rows = min(row0 + lid.y + strides, vec4<u32>(p.m - 1u));
    let next = min(row0 + TILE + lid.y + strides, vec4<u32>(p.m - 1u));
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
        acc = add_products(acc, direct_a(at + kk, gates + kk, kk), w);
        if (PAIRED) { acc_next = add_products(acc_next, direct_a(at_next + kk, gates_next + kk, kk), w); }
    }
    return Pair(acc, acc_next);
}

// acc plus the products of 4 rows of A (av) with the COLS columns' weights w.
fn add_products(acc: Acc, av: vec4<f32>, w: vec4<f32>) -> Acc {
    var r = acc;
    r.c0 += av * w.x;
    if (COLS > 1u) { r.c1 += av * w.y; }
    if (COLS > 2u) { r.c2 += av * w.z; }
    if (COLS > 3u) { r.c3 += av * w.w; }
    return r;
}

// The thread's share of the row tile from row0 through workgroup tiles, K in steps of TILE_K.
fn tiled(row0: u32, col0: u32, lid: vec3<u32>, li: u32) -> Acc {
    var acc = Acc();
    // With an upsampled skip the A tile is loaded column-major: each thread keeps one row
    // (THREADS is a multiple of TILE), so its bilinear taps are worked out once.
    let upsampled = PLUS_MODE == 2u;
    var taps_of_row: SkipTaps;
    if (upsampled) { taps_of_row = skip_taps(row0 + li % TILE); }
    for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
        // LANES channels of a row a load: row-major, or column-major with an upsampled skip.
        let loads = TILE_K / LANES;
        for (var i = li; i < TILE * loads; i += THREADS) {
            let r = select(i / loads, i % TILE, upsampled);
            let c = select(i % loads, i / TILE, upsampled) * LANES;
            let v = a_element(row0 + r, k0 + c, taps_of_row);
            for (var l = 0u; l < LANES; l++) { a_tile[r][c + l] = v[l]; }
        }
        for (var i = li; i < TILE_K * TILE_N; i += THREADS) {
            let r = i / TILE_N;
            let c = i % TILE_N;
            b_tile[r][c] = b_element(k0 + r, col0 + c);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            let av = vec4<f32>(a_tile[lid.y][kk], a_tile[lid.y + 8u][kk],
                               a_tile[lid.y + 16u][kk], a_tile[lid.y + 24u][kk]);
            var w = vec4<f32>(b_tile[kk][lid.x], 0.0, 0.0, 0.0);
            if (COLS > 1u) { w.y = b_tile[kk][lid.x + 8u]; }
            if (COLS > 2u) { w.z = b_tile[kk][lid.x + 16u]; }
            if (COLS > 3u) { w.w = b_tile[kk][lid.x + 24u]; }
            acc = add_products(acc, av, w);
        }
        workgroupBarrier();
    }
    return acc;
}

// Stores the thread's share of row tile `tile` (rows [32 tile, 32 tile + 32), columns from
// col0) through the epilogue, and where POOL the tile's per-column sums after C.
fn finish_tile(tile: u32, col0: u32, lid: vec3<u32>, li: u32, acc: Acc) {
    let row0 = tile * TILE;
    let row = row0 + lid.y;
    let col = col0 + lid.x;
    // Branches, not select(): select evaluates both sides, and a column past COLS is the next
    // tile's.
    var sums = vec4<f32>(store_column(row, col, acc.c0), 0.0, 0.0, 0.0);
    if (COLS > 1u) { sums.y = store_column(row, col + 8u, acc.c1); }
    if (COLS > 2u) { sums.z = store_column(row, col + 16u, acc.c2); }
    if (COLS > 3u) { sums.w = store_column(row, col + 24u, acc.c3); }
    if (POOL) {
        for (var j = 0u; j < COLS; j++) { column_sums[lid.y][lid.x + 8u * j] = sums[j]; }
        workgroupBarrier();
        let c = col0 + li;
        if (li < TILE_N && c < p.n && row0 < p.m) {
            var total = 0.0;
            for (var y = 0u; y < 8u; y++) { total += column_sums[y][li]; }
            out[p.m * p.n + tile * p.n + c] = total;
        }
        // The next tile writes column_sums again (DIRECT has no barrier before that).
        if (ROW_TILES > 1u) { workgroupBarrier(); }
    }
}

// Stores column `col` of the thread's 4 rows from `row` (strided by 8) through the epilogue,
// those inside C; returns the sum of what was stored. One call per accumulator, not a loop over
// an array of them: software rasterizers keep a private array indexed in a loop in memory.
fn store_column(row: u32, col: u32, acc: vec4<f32>) -> f32 {
    if (col >= p.n) { return 0.0; }
    var v = acc;
    if (HAS_BIAS) { v += f32(bias[col]); }
    var total = 0.0;
    if (row < p.m) { total += store(row * p.n + col, v.x); }
    if (row + 8u < p.m) { total += store((row + 8u) * p.n + col, v.y); }
    if (row + 16u < p.m) { total += store((row + 16u) * p.n + col, v.z); }
    if (row + 24u < p.m) { total += store((row + 24u) * p.n + col, v.w); }
    return total;
}
