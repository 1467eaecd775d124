//! Hand-checked cases for the CPU reference: the trusted twin of every GPU kernel.

use super::*;
use crate::tensor::Shape;

fn t(h: usize, w: usize, c: usize, data: &[f32]) -> Tensor {
    Tensor::from_vec(Shape::new(h, w, c), data.to_vec())
}

#[test]
fn conv2d_stride2_pads_bottom_right_only() {
    // 4x4 input 0..16, one channel, all-ones 3x3 kernel, stride 2: padding [0,0,1,1].
    let x = t(4, 4, 1, &(0..16).map(|v| v as f32).collect::<Vec<_>>());
    let y = conv2d(&x, &[1.0; 9], &[0.5], 3, 2);
    assert_eq!(y.shape, Shape::new(2, 2, 1));
    // out(0,0) = sum of rows 0..3, cols 0..3 = 0+1+2+4+5+6+8+9+10 = 45
    // out(0,1) = rows 0..3, cols 2..4 (col 4 is padding) = 2+3+6+7+10+11 = 39
    // out(1,0) = rows 2..4, cols 0..3 = 8+9+10+12+13+14 = 66
    // out(1,1) = rows 2..4, cols 2..4 = 10+11+14+15 = 50
    assert_eq!(y.data, vec![45.5, 39.5, 66.5, 50.5]);
}

#[test]
fn conv2d_mixes_channels_with_ohwi_layout() {
    // 1x1 input with 2 channels, 1x1 kernel: out[o] = b[o] + sum_i w[o,i] x[i].
    let x = t(1, 1, 2, &[2.0, 3.0]);
    let y = conv2d(&x, &[1.0, 10.0, -1.0, 0.5], &[0.0, 1.0], 1, 1);
    assert_eq!(y.data, vec![32.0, 0.5]);
}

#[test]
fn depthwise_odd_size_stride2_5x5() {
    // 5x5 input of ones, 5x5 kernel of ones, stride 2: out 3x3, padding total 4 -> [2,2].
    let x = t(5, 5, 1, &[1.0; 25]);
    let y = depthwise_conv2d(&x, &[1.0; 25], &[0.0], 5, 2);
    assert_eq!(y.shape, Shape::new(3, 3, 1));
    // out(0,0) covers rows/cols -2..3 -> 3x3 valid = 9; out(0,1) rows -2..3 (3 valid) x cols
    // 0..5 (5 valid) = 15; out(1,1) covers 0..5 x 0..5 = 25.
    assert_eq!(
        y.data,
        vec![9.0, 15.0, 9.0, 15.0, 25.0, 15.0, 9.0, 15.0, 9.0]
    );
}

#[test]
fn depthwise_keeps_channels_apart() {
    let x = t(1, 1, 2, &[1.0, 2.0]);
    // 3x3 kernel, stride 1: only the centre tap sees the pixel. Centre weights 3 and 5.
    let mut w = vec![0.0; 18];
    w[4 * 2] = 3.0;
    w[4 * 2 + 1] = 5.0;
    let y = depthwise_conv2d(&x, &w, &[1.0, -1.0], 3, 1);
    assert_eq!(y.data, vec![4.0, 9.0]);
}

#[test]
fn matmul_small() {
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2x3
    let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]; // 3x2
    assert_eq!(matmul(&a, &b, 2, 3, 2), vec![58.0, 64.0, 139.0, 154.0]);
}

#[test]
fn pointwise_equals_matmul_with_transposed_weight() {
    let x = t(1, 2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let w = [1.0, 0.0, -1.0, 0.5, 0.5, 0.5]; // [2 out][3 in]
    let y = pointwise_conv(&x, &w, &[0.0, 1.0]);
    assert_eq!(y.data, vec![-2.0, 4.0, -2.0, 8.5]);
}

#[test]
fn pool_add_mul() {
    let x = t(2, 1, 2, &[1.0, 10.0, 3.0, 30.0]);
    assert_eq!(global_avg_pool(&x).data, vec![2.0, 20.0]);
    assert_eq!(add(&x, &x).data, vec![2.0, 20.0, 6.0, 60.0]);
    let s = t(1, 1, 2, &[0.5, -1.0]);
    assert_eq!(mul_channels(&x, &s).data, vec![0.5, -10.0, 1.5, -30.0]);
}

#[test]
fn activations() {
    assert_eq!(relu(-1.0), 0.0);
    assert_eq!(hard_swish(-3.0), 0.0);
    assert_eq!(hard_swish(3.0), 3.0);
    assert_eq!(hard_swish(1.0), 1.0 * 4.0 / 6.0);
    assert_eq!(sigmoid(0.0), 0.5);
    assert!((sigmoid(2.0) - 0.880_797).abs() < 1e-6);
}

#[test]
fn resize_bilinear_2x_half_pixel() {
    // 1D row [0, 4] -> 4 samples at src -0.25, 0.25, 0.75, 1.25 -> clamp, 1, 3, clamp.
    let x = t(1, 2, 1, &[0.0, 4.0]);
    let y = resize_bilinear(&x, 1, 4);
    assert_eq!(y.data, vec![0.0, 1.0, 3.0, 4.0]);
    // 2D: corners of a 2x2 stay, centre taps blend both axes.
    let x = t(2, 2, 1, &[0.0, 4.0, 8.0, 12.0]);
    let y = resize_bilinear(&x, 4, 4);
    assert_eq!(y.at(0, 0, 0), 0.0);
    assert_eq!(
        y.at(1, 1, 0),
        0.75 * 0.0 * 0.75 + 0.25 * 0.75 * 4.0 + 0.75 * 0.25 * 8.0 + 0.25 * 0.25 * 12.0
    );
    assert_eq!(y.at(3, 3, 0), 12.0);
}

#[test]
fn resize_bilinear_down_and_identity() {
    let x = t(2, 4, 1, &[0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
    assert_eq!(resize_bilinear(&x, 2, 4), x);
    // 4 -> 2 wide: sample at 0.5 and 2.5 -> averages of neighbours.
    let y = resize_bilinear(&x, 1, 2);
    // rows: sample at y=0.5 -> mean of the two rows.
    assert_eq!(y.data, vec![(1.0 + 9.0) / 2.0, (5.0 + 13.0) / 2.0]);
}

#[test]
fn transposed_conv_does_not_flip_kernel() {
    // One pixel, one input channel: the output 2x2 block is bias + x * W in W's own order.
    let x = t(1, 1, 1, &[2.0]);
    let y = transposed_conv2x2(&x, &[1.0, 2.0, 3.0, 4.0], &[0.5]);
    assert_eq!(y.shape, Shape::new(2, 2, 1));
    assert_eq!(y.data, vec![2.5, 4.5, 6.5, 8.5]);
    // Two channels sum.
    let x = t(1, 1, 2, &[1.0, 10.0]);
    let y = transposed_conv2x2(&x, &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0], &[0.0]);
    assert_eq!(y.data, vec![1.0, 10.0, 11.0, 22.0]);
}

#[test]
fn softmax_is_stable_and_row_wise() {
    let y = softmax(&[1.0, 2.0, 3.0, 1000.0, 1000.0, 1000.0], 3);
    let e: f32 = (1.0f32).exp() + (2.0f32).exp() + (3.0f32).exp();
    assert!((y[0] - 1.0f32.exp() / e).abs() < 1e-7);
    assert!((y[2] - 3.0f32.exp() / e).abs() < 1e-7);
    // Huge logits would overflow without the max subtraction.
    assert_eq!(&y[3..], &[1.0 / 3.0; 3]);
}
