// The epilogue every layer kernel stores with (network::Epilogue): act(v) + add[i] into out[i],
// returned too (for kernels that also pool what they store).
// For kernels with `p.act`, `p.has_add` and the `add` and `out` buffers.
fn store(i: u32, v: f32) -> f32 {
    var r = activate(v, p.act);
    if (p.has_add != 0u) { r += add[i]; }
    out[i] = r;
    return r;
}
