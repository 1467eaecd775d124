// window_main.wgsl with pooling: each lane's block of sums in workgroup memory, POOL_THREADS
// (each kernel's) threads a workgroup. Fewer threads than WG where a block is wide: WebGPU
// zero-fills a workgroup's memory before it runs, and SwiftShader (the browsers' software
// WebGPU) took 95.6 ms for the stem with 256 threads of 16 sums (16 KiB), 32.5 with 64 (4 KiB).
const POOL: bool = true;
const THREADS: u32 = POOL_THREADS;
var<workgroup> pool_lanes: array<f32, THREADS * BLOCK_MAX>;
