//! The committed weights file holds exactly the tensors the tflite holds: names, shapes, fp16.

use safetensors::{Dtype, SafeTensors};

#[test]
fn every_tensor_matches_the_manifest() {
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/weights_manifest.txt"
    ))
    .unwrap();
    let file = SafeTensors::deserialize(silhouette::weights::EMBEDDED).unwrap();
    let mut expected = 0;
    for line in manifest.lines().filter(|l| !l.starts_with('#')) {
        let [name, dtype, shape] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("bad manifest line {line}")
        };
        let t = file
            .tensor(name)
            .unwrap_or_else(|_| panic!("missing {name}"));
        assert_eq!(dtype, "F16");
        assert_eq!(t.dtype(), Dtype::F16, "{name}");
        let shape: Vec<usize> = shape.split('x').map(|d| d.parse().unwrap()).collect();
        assert_eq!(t.shape(), &shape[..], "{name}");
        expected += 1;
    }
    assert_eq!(file.len(), expected, "file has tensors the manifest lacks");
    assert_eq!(expected, 110);
    let weights = silhouette::Weights::embedded().unwrap();
    assert_eq!(weights.parameter_count(), 106_401);
}

#[test]
fn metadata_records_source_and_licence() {
    let (_, meta) = SafeTensors::read_metadata(silhouette::weights::EMBEDDED).unwrap();
    let meta = meta.metadata().as_ref().expect("metadata");
    assert_eq!(
        meta["source_sha256"],
        "8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27"
    );
    assert!(meta["license"].contains("Apache-2.0"));
    assert!(meta["source"].contains("@mediapipe/selfie_segmentation@0.1.1675465747"));
}

#[test]
fn network_uses_every_tensor_and_counts_macs() {
    let weights = silhouette::Weights::embedded().unwrap();
    let net = silhouette::network::Network::new(&weights).unwrap();
    let mut used = std::collections::BTreeSet::new();
    for node in &net.nodes {
        use silhouette::network::Op;
        let layers: Vec<&silhouette::network::Layer> = match &node.op {
            Op::Conv2d { layer, .. }
            | Op::Pointwise { layer, .. }
            | Op::Depthwise { layer, .. }
            | Op::TransposedConv2x2 { layer, .. } => vec![layer],
            Op::ChannelGate { layers, .. } => layers.iter().collect(),
            _ => vec![],
        };
        for l in layers {
            used.insert(format!("{}.weight", l.name));
            used.insert(format!("{}.bias", l.name));
        }
    }
    let all: std::collections::BTreeSet<String> = weights.names().map(String::from).collect();
    assert_eq!(used, all);
    // 59.2 M MACs per frame, as measured from the tflite graph.
    assert_eq!((net.macs() as f64 / 1e5).round() / 10.0, 59.2);
}
