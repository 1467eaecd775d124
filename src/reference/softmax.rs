//! Row-wise softmax. GPU twin: [`ops::softmax`](crate::ops::softmax).

/// Numerically stable softmax over each row of a row-major [rows, cols] matrix.
pub fn softmax(x: &[f32], cols: usize) -> Vec<f32> {
    assert!(cols > 0 && x.len().is_multiple_of(cols));
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(cols) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        out.extend(exps.iter().map(|e| e / sum));
    }
    out
}
