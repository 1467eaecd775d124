// The epilogue every layer kernel stores with (network::Epilogue): act(v) + add[i] into out[i],
// returned too (for kernels that also pool what they store). ACT and HAS_ADD are set per
// dispatch's pipeline (ops/binding.rs `epilogue_constants`), so neither is a runtime branch.
// For kernels with the `add` and `out` buffers.
override ACT: u32 = 0u;
override HAS_ADD: bool = false;

fn store(i: u32, v: f32) -> f32 {
    var r = activate(v, ACT);
    if (HAS_ADD) { r += add[i]; }
    out[i] = r;
    return r;
}
