// The blur's input (cpu/finish.rs's blurred_background): per working pixel, the mean over its
// photo pixels (the cells of downsample.wgsl) of the colour times the pixel's background weight
// (1 - alpha)^2 (finish.rs's background_weight), and of that weight. Blurred, then divided by
// the blurred weight (separable.wgsl's unweigh pass), it is a background the person's colours
// never enter.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> image: array<u32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> coefficients: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> weighted: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = linear_index(gid, groups);
    if (i >= p.work_w * p.work_h) { return; }
    let cell = work_cell(i, vec2<u32>(p.img_w, p.img_h), vec2<u32>(p.work_w, p.work_h));
    var sum = vec4<f32>(0.0);
    for (var y = cell.z; y < cell.w; y++) {
        for (var x = cell.x; x < cell.y; x++) {
            let fg = unpack_rgba(image[y * p.img_w + x]).rgb;
            let t = 1.0 - f32(alpha_at(x, y, fg)) / 255.0;
            let weight = t * t;
            sum += vec4<f32>(fg * weight, weight);
        }
    }
    let n = f32((cell.y - cell.x) * (cell.w - cell.z));
    weighted[i] = sum / n;
}
