// C[m, n] = act((A[m, k] * gate[k] + plus[m, k]) . B[k, n] + bias[n]) + add[m, n], where each
// frame of frame_rows rows has its own gate (k values).
// The pointwise (1x1) convolutions are this with m = pixels, k = in channels, n = out channels.
// Tiles: a 8x8 workgroup computes a 32x32 block of C, each thread a 4x4 micro-tile strided by 8 so
// that neighbouring threads touch neighbouring columns (coalesced loads and stores). K advances
// 16 at a time through workgroup memory. Edges are zero-filled, so any m, n, k works.

struct Params {
    m: u32, n: u32, k: u32, act: u32,
    has_bias: u32, has_gate: u32, has_add: u32, has_plus: u32,
    frame_rows: u32, _pad0: u32, _pad1: u32, _pad2: u32,
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
const TILE_K: u32 = 16u;
const THREADS: u32 = 64u;

var<workgroup> a_tile: array<array<f32, TILE_K>, TILE>;
var<workgroup> b_tile: array<array<f32, TILE>, TILE_K>;

// Part: epilogue (shaders/parts/).

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    var acc: array<array<f32, 4>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
        for (var i = li; i < TILE * TILE_K; i += THREADS) {
            let r = i / TILE_K;
            let c = i % TILE_K;
            var v = 0.0;
            if (row0 + r < p.m && k0 + c < p.k) {
                let i = (row0 + r) * p.k + k0 + c;
                v = a[i];
                if (p.has_gate != 0u) { v *= gate[((row0 + r) / p.frame_rows) * p.k + k0 + c]; }
                if (p.has_plus != 0u) { v += plus[i]; }
            }
            a_tile[r][c] = v;
        }
        for (var i = li; i < TILE_K * TILE; i += THREADS) {
            let r = i / TILE;
            let c = i % TILE;
            var v = 0.0;
            if (k0 + r < p.k && col0 + c < p.n) { v = f32(b[(k0 + r) * p.n + col0 + c]); }
            b_tile[r][c] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE_K; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                av[i] = a_tile[lid.y + 8u * i][kk];
                bv[i] = b_tile[kk][lid.x + 8u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) { acc[i][j] += av[i] * bv[j]; }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + lid.y + 8u * i;
        for (var j = 0u; j < 4u; j++) {
            let c = col0 + lid.x + 8u * j;
            if (r < p.m && c < p.n) {
                var v = acc[i][j];
                if (p.has_bias != 0u) { v += f32(bias[c]); }
                store(r * p.n + c, v);
            }
        }
    }
}
