//! Work split across cores: natively on rayon's pool, in the browser on the one thread there is.

/// Calls `f(index, chunk)` for each `chunk_len`-long chunk of `out` (the last may be shorter), in
/// parallel where threads exist.
pub fn chunks(out: &mut [f32], chunk_len: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let chunk_len = chunk_len.max(1);
    #[cfg(not(target_arch = "wasm32"))]
    if !on_one_thread() {
        use rayon::prelude::*;
        return out
            .par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
    out.chunks_mut(chunk_len)
        .enumerate()
        .for_each(|(i, c)| f(i, c));
}

/// The sum of `f`'s per-chunk `width`-long f64 vectors over `chunk_len`-long chunks of `x`, in
/// parallel where threads exist (`f(chunk, sums)` adds its chunk's into `sums`).
pub fn sum_chunks(
    x: &[f32],
    chunk_len: usize,
    width: usize,
    f: impl Fn(&[f32], &mut [f64]) + Sync + Send,
) -> Vec<f64> {
    let partial = |chunk: &[f32]| {
        let mut sums = vec![0.0; width];
        f(chunk, &mut sums);
        sums
    };
    let add = |mut a: Vec<f64>, b: Vec<f64>| {
        a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
        a
    };
    #[cfg(not(target_arch = "wasm32"))]
    if !on_one_thread() {
        use rayon::prelude::*;
        return x
            .par_chunks(chunk_len.max(1))
            .map(partial)
            .reduce(|| vec![0.0; width], add);
    }
    x.chunks(chunk_len.max(1))
        .map(partial)
        .fold(vec![0.0; width], add)
}

/// Runs `f` on one of the pool's threads (natively), so that the `chunks` calls inside it split
/// work from there: the caller's thread then takes part in each layer, and the one hand-off
/// (and wake-up) between the calling thread and the pool is paid once per frame, not per layer.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::scope(|_| f());
    #[cfg(target_arch = "wasm32")]
    f()
}

/// Threads a CPU frame runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Threads {
    /// Each layer split across every thread of rayon's pool: the global one (`RAYON_NUM_THREADS`
    /// sets its size), or the one a caller's `ThreadPool::install` runs the frame in.
    #[default]
    All,
    /// The calling thread alone: no other core is woken or waited for. For callers that must
    /// not take other cores, or that run frames on several threads of their own. A frame splits
    /// each layer and waits for its slowest part, so a core that another program holds (a
    /// video encoder, another runtime's spinning workers) holds up every layer: then one
    /// thread can be the faster (benches/RESULTS.md, 2026-12-06).
    One,
}

impl std::str::FromStr for Threads {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> crate::error::Result<Self> {
        match s {
            "all" => Ok(Threads::All),
            "one" => Ok(Threads::One),
            other => Err(crate::error::Error::InvalidInput(format!(
                "unknown threads {other:?} (all or one)"
            ))),
        }
    }
}

/// Runs `f` on the calling thread with every split inside it done in turn there: no worker is
/// woken, and none can be held up by another program on its core.
pub fn on_this_thread<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(not(target_arch = "wasm32"))]
    {
        /// Clears the flag however `f` ends (a panic unwinds through it).
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                ONE_THREAD.set(self.0);
            }
        }
        let _restore = Restore(ONE_THREAD.replace(true));
        f()
    }
    #[cfg(target_arch = "wasm32")]
    f()
}

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    /// Set while this thread runs a frame alone ([`on_this_thread`]).
    static ONE_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(not(target_arch = "wasm32"))]
pub(super) fn on_one_thread() -> bool {
    ONE_THREAD.get()
}

/// Threads the work is split across.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return match on_one_thread() {
        true => 1,
        false => rayon::current_num_threads(),
    };
    #[cfg(target_arch = "wasm32")]
    1
}

/// Rows per task so that every core gets a few tasks of at least `min_rows` rows.
pub fn rows_per_task(rows: usize, min_rows: usize) -> usize {
    rows.div_ceil(4 * threads()).max(min_rows).min(rows.max(1))
}

/// Set by tests to run the portable path on a CPU that has AVX2.
#[cfg(target_arch = "x86_64")]
pub static FORCE_PORTABLE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Set by tests to run the AVX2 path on a CPU that has AVX-512.
#[cfg(target_arch = "x86_64")]
pub static FORCE_AVX2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the CPU has AVX2 and FMA (x86-64; detected once, cached by std).
#[cfg(target_arch = "x86_64")]
pub fn has_avx2() -> bool {
    !FORCE_PORTABLE.load(std::sync::atomic::Ordering::Relaxed)
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
}

/// Defines a kernel function twice from one body: compiled for AVX2 + FMA (used on x86-64 CPUs
/// that have them, so its channel loops vectorise 8 wide) and as built (SSE2 on x86-64, NEON on
/// aarch64, simd128 in a wasm build with it). Closures inside the body inherit the features; the
/// body sees `FMA`, whether that version has fused multiply-adds (for [`madd`]).
macro_rules! simd_kernel {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn wide($($arg: $ty),*) {
                    #[allow(dead_code)]
                    const FMA: bool = true;
                    $body
                }
                if $crate::cpu::par::has_avx2() {
                    // SAFETY: the CPU has AVX2 and FMA (checked just above).
                    return unsafe { wide($($arg),*) };
                }
            }
            #[allow(dead_code)]
            const FMA: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));
            $body
        }
    };
}

/// `a * b + c`: one fused multiply-add where the kernel is compiled with FMA (`fma` is the
/// kernel's `FMA` constant, so the branch folds away), else a multiply and an add (without the
/// instruction, `mul_add` is a libm call).
#[inline(always)]
pub fn madd(fma: bool, a: f32, b: f32, c: f32) -> f32 {
    if fma { a.mul_add(b, c) } else { a * b + c }
}
pub(crate) use simd_kernel;

/// Lanes per step of the channel loops (every channel count in the network is a multiple of 8):
/// one AVX2 register, two of SSE2, NEON or wasm simd128.
pub const LANES: usize = 8;

/// [`LANES`] values from `at`, unchecked.
///
/// # Safety
/// `at + LANES <= s.len()`.
#[inline(always)]
pub unsafe fn lanes_unchecked(s: &[f32], at: usize) -> [f32; LANES] {
    debug_assert!(at + LANES <= s.len());
    // SAFETY: in bounds (the caller's promise); [f32; LANES] is aligned like f32.
    unsafe { s.as_ptr().add(at).cast::<[f32; LANES]>().read() }
}
