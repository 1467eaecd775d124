//! The epilogue every fast kernel ends a chunk with: `act(x + bias) + add`, one pass, the
//! activation chosen once per chunk rather than per element.

use super::par::simd_kernel;
use crate::network::Activation;

/// `e^x` for the sigmoid, without libm's call per element or its overflow path: Cephes' expf
/// (range reduction by ln 2, a degree-7 polynomial, 2^n from the exponent bits), within 2 ulp
/// over the clamped range, and written so the channel loops vectorise (no `round` call: the
/// 1.5 * 2^23 shift rounds to nearest in f32 itself).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + SHIFT;
    let n = t - SHIFT;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let scale = f32::from_bits(t.to_bits().wrapping_sub(SHIFT.to_bits()).wrapping_add(127) << 23);
    (p * r * r + r + 1.0) * scale
}

#[inline(always)]
fn activate(act: Activation, v: f32) -> f32 {
    match act {
        // Clamped so the result stays a normal number: below -87 it was subnormal, and each
        // subnormal quotient is a microcode assist on Intel cores (the head's sigmoid over a
        // confident background ran 10x slower on a Xeon). sigmoid(-80) is 1.8e-35. A compare,
        // not `max` (see Relu below); NaN passes through.
        Activation::Sigmoid => 1.0 / (1.0 + exp(if v < -80.0 { 80.0 } else { -v })),
        // Not `v.max(0.0)`: IEEE maxNum has no wasm SIMD instruction, so in the browser it was
        // a call to libm's fmaxf per element (4% of a 720p frame). Equal to it but for the
        // sign of a zero.
        Activation::Relu => {
            if v > 0.0 {
                v
            } else {
                0.0
            }
        }
        // Times 1/6, not divided by 6 (within an ulp): a division per element was a fifth of
        // the epilogues' time on a Xeon.
        Activation::HardSwish => v * (v + 3.0).clamp(0.0, 6.0) * (1.0 / 6.0),
        act => act.apply(v),
    }
}

/// `f` over every element of `out`, after its channel's bias (repeating every `bias.len()`
/// elements; none when empty), then `+ add`.
#[inline(always)]
fn each(out: &mut [f32], bias: &[f32], add: Option<&[f32]>, f: impl Fn(f32) -> f32) {
    if bias.is_empty() {
        match add {
            None => out.iter_mut().for_each(|v| *v = f(*v)),
            Some(add) => out.iter_mut().zip(add).for_each(|(v, a)| *v = f(*v) + a),
        }
        return;
    }
    // The bias repeated over whole pixels to at least 256 values: a loop over one pixel's 16
    // or 24 channels was vectorised 4 wide (LLVM's 8 x 4 main loop never ran), one this long
    // runs 8 wide.
    let mut tile = [0.0f32; 2 * TILE];
    let pattern = match bias.len() {
        c if c > TILE => bias,
        c => {
            let len = TILE.div_ceil(c) * c;
            for (t, b) in tile[..len].iter_mut().zip(bias.iter().cycle()) {
                *t = *b;
            }
            &tile[..len]
        }
    };
    match add {
        None => {
            for px in out.chunks_mut(pattern.len()) {
                px.iter_mut().zip(pattern).for_each(|(v, b)| *v = f(*v + b));
            }
        }
        Some(add) => {
            for (px, add) in out.chunks_mut(pattern.len()).zip(add.chunks(pattern.len())) {
                for ((v, b), a) in px.iter_mut().zip(pattern).zip(add) {
                    *v = f(*v + b) + a;
                }
            }
        }
    }
}

/// Values a repeated bias spans at least (see [`each`]).
const TILE: usize = 256;

simd_kernel! {
    /// `out = act(out + bias) + add` (bias per channel, or empty; add: the same elements of the
    /// epilogue's tensor).
    fn chunk(out: &mut [f32], bias: &[f32], act: Activation, add: Option<&[f32]>) {
        match act {
            Activation::Linear => each(out, bias, add, |v| v),
            Activation::Relu => each(out, bias, add, |v| activate(Activation::Relu, v)),
            Activation::HardSwish => each(out, bias, add, |v| activate(Activation::HardSwish, v)),
            Activation::Sigmoid => each(out, bias, add, |v| activate(Activation::Sigmoid, v)),
        }
    }
}

/// `out = act(out) + add`.
pub fn apply(out: &mut [f32], act: Activation, add: Option<&[f32]>) {
    chunk(out, &[], act, add)
}

/// `out = act(out + bias) + add`, `bias` per channel (`out` holds whole pixels).
pub fn with_bias(out: &mut [f32], bias: &[f32], act: Activation, add: Option<&[f32]>) {
    chunk(out, bias, act, add)
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let (ours, libm) = (super::exp(x), x.exp());
            assert!(
                (ours - libm).abs() <= 2.0 * f32::EPSILON * libm,
                "exp({x}): {ours} vs {libm}"
            );
        }
    }
}
