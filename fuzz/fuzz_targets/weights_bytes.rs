//! Weights bytes through safetensors parsing, the finiteness and dtype checks, and the network's
//! shape checks. A file that loads must build a network whose output is 256x256x1.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(weights) = silhouette::Weights::from_bytes(data) else {
        return;
    };
    if let Ok(network) = silhouette::network::Network::new(&weights) {
        assert_eq!(network.output_shape(), silhouette::network::OUTPUT);
    }
});
