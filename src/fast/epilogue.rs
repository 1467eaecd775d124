//! The epilogue every fast kernel ends a chunk with: `act(x) + add`, one pass, the activation
//! chosen once per chunk rather than per element.

use crate::network::Activation;

/// `out = act(out) + add` (add: the same elements of the epilogue's tensor).
pub fn apply(out: &mut [f32], act: Activation, add: Option<&[f32]>) {
    fn each(out: &mut [f32], f: impl Fn(f32) -> f32) {
        out.iter_mut().for_each(|v| *v = f(*v));
    }
    match act {
        Activation::Linear => {}
        Activation::Relu => each(out, |v| Activation::Relu.apply(v)),
        Activation::HardSwish => each(out, |v| Activation::HardSwish.apply(v)),
        Activation::Sigmoid => each(out, |v| Activation::Sigmoid.apply(v)),
    }
    if let Some(add) = add {
        out.iter_mut().zip(add).for_each(|(o, a)| *o += a);
    }
}
