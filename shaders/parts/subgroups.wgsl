// Subgroups, where the device has them (ops/wgsl.rs puts this file in; subgroups_fallback.wgsl
// otherwise, with the same functions). Native only: the browser build does not ask for them.
//
// A kernel sees its workgroup as `Lanes`: groups of threads that add up a value together
// (`lanes_sum`). Here a group is a subgroup, numbered by the order its first thread reaches
// `lanes_of`, so nothing assumes how the hardware lays subgroups over local_invocation_index
// (WGSL does not say; the `subgroup_id` builtin is a newer language feature).

struct Lanes { index: u32, count: u32, lane: u32, size: u32 }

var<workgroup> lanes_numbered: atomic<u32>;

// Call once per workgroup, from uniform control flow (it waits at a barrier): group `index` of
// `count`, this thread lane `lane` of its `size`.
fn lanes_of(li: u32, threads: u32) -> Lanes {
    // Lane 0 is the subgroup's first active thread, the one subgroupBroadcastFirst reads.
    let lane = subgroupExclusiveAdd(1u);
    let size = subgroupAdd(1u);
    var index = 0u;
    if (lane == 0u) { index = atomicAdd(&lanes_numbered, 1u); }
    index = subgroupBroadcastFirst(index);
    workgroupBarrier();
    return Lanes(index, atomicLoad(&lanes_numbered), lane, size);
}

// The sum of `v` over the calling thread's group, in every lane of it.
fn lanes_sum(v: f32) -> f32 { return subgroupAdd(v); }
