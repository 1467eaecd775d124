// window_main.wgsl without pooling: WG threads a workgroup and no workgroup memory but a word
// (it is zero-filled before a workgroup runs, and costs by its size: window_pooled.wgsl).
const POOL: bool = false;
const THREADS: u32 = WG;
var<workgroup> pool_lanes: array<f32, 1>;
