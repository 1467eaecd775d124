//! The activation arena both executors use: values whose lifetimes do not overlap share a slot.

use crate::network::{INPUT, Network};

/// Assigns every value an arena slot: a slot is reused once the value in it has been read for the
/// last time; each slot is sized to the largest value it ever holds. Returns (slot per value,
/// capacity per slot in f32s).
pub fn arena_layout(network: &Network) -> (Vec<usize>, Vec<usize>) {
    let values = network.nodes.len() + 1;
    let mut last_use = vec![0; values];
    for (i, node) in network.nodes.iter().enumerate() {
        for v in node.reads() {
            last_use[v.0] = i;
        }
    }
    last_use[values - 1] = usize::MAX; // the output is read back after the last node
    let mut slot_of = vec![0; values];
    let mut capacities = vec![INPUT.len()];
    let mut free: Vec<usize> = Vec::new();
    for (i, node) in network.nodes.iter().enumerate() {
        let need = node.shape.len();
        // Best fit among free slots; else grow the largest free one; else a new slot.
        let fit = free
            .iter()
            .enumerate()
            .filter(|(_, s)| capacities[**s] >= need)
            .min_by_key(|(_, s)| capacities[**s]);
        let pick = fit
            .or_else(|| free.iter().enumerate().max_by_key(|(_, s)| capacities[**s]))
            .map(|(k, _)| k);
        let slot = match pick {
            Some(k) => free.swap_remove(k),
            None => {
                capacities.push(0);
                capacities.len() - 1
            }
        };
        capacities[slot] = capacities[slot].max(need);
        slot_of[i + 1] = slot;
        let mut dead: Vec<usize> = node
            .op
            .inputs()
            .into_iter()
            .chain(node.epilogue.add)
            .filter(|v| last_use[v.0] == i)
            .map(|v| slot_of[v.0])
            .collect();
        dead.sort_unstable();
        dead.dedup();
        free.extend(dead);
    }
    (slot_of, capacities)
}

#[cfg(test)]
mod tests {
    use super::super::testing::network;
    use super::*;
    use crate::network::Value;

    #[test]
    fn arena_never_hands_a_live_value_s_buffer_to_another() {
        let net = network();
        let (slot_of, capacities) = arena_layout(&net);
        let mut last_use = vec![0; net.nodes.len() + 1];
        for (i, n) in net.nodes.iter().enumerate() {
            for v in n.reads() {
                last_use[v.0] = i + 1;
            }
        }
        *last_use.last_mut().unwrap() = usize::MAX;
        for a in 0..slot_of.len() {
            assert!(capacities[slot_of[a]] >= net.shape(Value(a)).len());
            for b in a + 1..slot_of.len() {
                // b is written at step b; a must be dead by then if they share a slot.
                if slot_of[a] == slot_of[b] {
                    assert!(
                        last_use[a] < b,
                        "value {a} (last read by node {}) shares a slot with value {b}",
                        last_use[a]
                    );
                }
            }
        }
        assert!(
            capacities.len() < slot_of.len() / 4,
            "{} slots for {} values",
            capacities.len(),
            slot_of.len()
        );
    }
}
