//! Work split across cores: natively on rayon's pool, in the browser on the one thread there is.

/// Calls `f(index, chunk)` for each `chunk_len`-long chunk of `out` (the last may be shorter), in
/// parallel where threads exist.
pub fn chunks(out: &mut [f32], chunk_len: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let chunk_len = chunk_len.max(1);
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
    #[cfg(target_arch = "wasm32")]
    out.chunks_mut(chunk_len)
        .enumerate()
        .for_each(|(i, c)| f(i, c));
}

/// Rows per task so that every core gets a few tasks of at least `min_rows` rows.
pub fn rows_per_task(rows: usize, min_rows: usize) -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    let threads = rayon::current_num_threads();
    #[cfg(target_arch = "wasm32")]
    let threads = 1;
    rows.div_ceil(4 * threads).max(min_rows).min(rows.max(1))
}
