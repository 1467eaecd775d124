//! What an app that embeds the library gets: no command-line crate (clap, indicatif, ctrlc) and
//! no GStreamer, whatever the workspace builds beside it.

use std::process::Command;

#[test]
fn the_library_pulls_in_no_command_line_or_gstreamer_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "silhouette",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let has = |name: &str| tree.lines().any(|l| l.starts_with(&format!("{name} v")));
    assert!(has("wgpu"), "not the library's tree:\n{tree}");
    for name in ["clap", "indicatif", "ctrlc", "gstreamer", "silhouette-cli"] {
        assert!(!has(name), "the library depends on {name}:\n{tree}");
    }
}
