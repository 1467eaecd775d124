// subgroups.wgsl's functions without subgroups (ops/wgsl.rs picks one): each thread is a group
// of one, so code written for groups becomes the plain one-thread-per-item loop.

struct Lanes { index: u32, count: u32, lane: u32, size: u32 }

fn lanes_of(li: u32, threads: u32) -> Lanes { return Lanes(li, threads, 0u, 1u); }

fn lanes_sum(v: f32) -> f32 { return v; }
