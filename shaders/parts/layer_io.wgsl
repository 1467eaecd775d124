// A layer's bindings (ops/conv2d.rs, depthwise.rs, transposed_conv.rs bind them in this order):
// its parameters, the input x, weights and bias at the parameter precision, the epilogue's
// optional add, and the output. `weight_t` is the kernel's: param_t, or vec4<param_t> where the
// weights are packed in blocks of 4 output channels (conv2d).
// The parameters are read from storage, not a uniform, for the reason separable.wgsl gives:
// with a uniform, lavapipe JIT-compiled a fresh variant of the 16-channel stem on every
// dispatch and kept it (tests/cli_hardening.rs's folder memory test caught 0.7 MB a photo).
@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<weight_t>;
@group(0) @binding(3) var<storage, read> bias: array<param_t>;
@group(0) @binding(4) var<storage, read> add: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
