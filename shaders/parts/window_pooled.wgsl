// window_main.wgsl with pooling: each lane's block of sums in workgroup memory, POOL_THREADS
// (each kernel's) threads a workgroup. Fewer threads than WG where a block is wide: workgroup
// memory is zero-filled before a workgroup runs and costs SwiftShader (the browsers' software
// WebGPU) by its size: the stem took 95.6 ms with 256 threads of 16 sums (16 KiB), 32.5 with 64.
const POOL: bool = true;
const THREADS: u32 = POOL_THREADS;
var<workgroup> pool_lanes: array<f32, THREADS * BLOCK_MAX>;
