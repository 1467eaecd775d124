//! Folders past one machine: N shards cover every photo exactly once (flag or array-job
//! environment), `--skip-existing` resumes, and the JSON-lines report says what became of each.

mod common;

use common::run::*;
use std::collections::BTreeMap;
use std::path::Path;

/// The report's lines as JSON objects.
fn report(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn field(line: &serde_json::Value, key: &str) -> String {
    line[key].as_str().unwrap_or_default().to_string()
}

#[test]
fn shards_cover_every_photo_exactly_once_and_report_each() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_folder(&dir.path().join("in"), 12, 64, 48);
    let out = dir.path().join("out");
    let mut done = BTreeMap::new();
    for index in 0..3 {
        let report_path = dir.path().join(format!("report-{index}.jsonl"));
        let shard = format!("{index}/3");
        ok(&on_cpu(
            "mask",
            &photos,
            &out,
            &["--shard", &shard, "--report", s(&report_path)],
        ));
        for line in report(&report_path) {
            assert_eq!(field(&line, "status"), "done", "{line}");
            assert!(line["ms"].as_f64().unwrap() > 0.0);
            let input = field(&line, "input");
            assert!(
                done.insert(input.clone(), index).is_none(),
                "{input} in two shards"
            );
            assert!(Path::new(&field(&line, "output")).is_file());
        }
    }
    assert_eq!(done.len(), 12, "{done:?}");
    assert!(
        done.values().any(|&i| i == 0) && done.values().any(|&i| i == 2),
        "{done:?}"
    );
    assert_eq!(files_in(&out).len(), 12);

    // The index from an array job's environment: the same shard as the flag's.
    for variable in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] {
        let report_path = dir.path().join(format!("{variable}.jsonl"));
        let run = command(&[
            "mask",
            s(&photos),
            "-o",
            s(&dir.path().join("env")),
            "--backend",
            "cpu",
            "--shard",
            "3",
            "--report",
            s(&report_path),
        ])
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .env(variable, "1")
        .output()
        .unwrap();
        ok(&run);
        let inputs: Vec<String> = report(&report_path)
            .iter()
            .map(|l| field(l, "input"))
            .collect();
        let want: Vec<&String> = done
            .iter()
            .filter(|(_, i)| **i == 1)
            .map(|(p, _)| p)
            .collect();
        assert_eq!(inputs.iter().collect::<Vec<_>>(), want, "{variable}");
    }
    let no_index = command(&["mask", s(&photos), "-o", s(&out), "--shard", "3"])
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .output()
        .unwrap();
    fails_with(&no_index, "JOB_COMPLETION_INDEX");
    fails_with(
        &silhouette(&["mask", s(&photos), "-o", s(&out), "--shard", "3/3"]),
        "I/N",
    );
    // Two photos that would write one output are refused in every shard, whichever holds them.
    let clash = dir.path().join("clash");
    std::fs::create_dir_all(&clash).unwrap();
    std::fs::copy(PHOTO, clash.join("a.jpg")).unwrap();
    std::fs::copy(photos.join("p000.jpg"), clash.join("a.png")).unwrap();
    for shard in ["0/2", "1/2"] {
        let run = silhouette(&[
            "mask",
            s(&clash),
            "-o",
            s(&dir.path().join("c")),
            "--shard",
            shard,
        ]);
        fails_with(&run, "both");
    }
    fails_with(
        &silhouette(&[
            "mask",
            s(&photos),
            "-o",
            s(&out),
            "--shard",
            "0/2",
            "--smooth",
        ]),
        "in order",
    );
    fails_with(
        &silhouette(&["mask", PHOTO, "-o", s(&out.join("x.png")), "--shard", "0/2"]),
        "--shard applies to folders",
    );
}

#[test]
fn skip_existing_resumes_and_the_report_names_failures() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_folder(&dir.path().join("in"), 4, 64, 48);
    std::fs::write(photos.join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let out = dir.path().join("out");
    let first = on_cpu("mask", &photos, &out, &[]);
    fails_with(&first, "broken.png");
    let kept = out.join(files_in(&out)[0].file_name().unwrap());
    let before = std::fs::metadata(&kept).unwrap().modified().unwrap();
    std::fs::remove_file(&files_in(&out)[1]).unwrap();

    let report_path = dir.path().join("resume.jsonl");
    let again = on_cpu(
        "mask",
        &photos,
        &out,
        &["--skip-existing", "--report", s(&report_path)],
    );
    fails_with(&again, "1 of 2 files failed");
    let lines = report(&report_path);
    let status = |name: &str| {
        let line = lines
            .iter()
            .find(|l| field(l, "input").ends_with(name))
            .unwrap();
        (field(line, "status"), field(line, "error"))
    };
    let statuses: Vec<String> = lines.iter().map(|l| field(l, "status")).collect();
    assert_eq!(
        statuses.iter().filter(|s| *s == "skipped").count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| *s == "done").count(),
        1,
        "{statuses:?}"
    );
    let (broken, why) = status("broken.png");
    assert_eq!(broken, "failed");
    assert!(why.contains("broken.png"), "{why}");
    assert_eq!(
        std::fs::metadata(&kept).unwrap().modified().unwrap(),
        before,
        "a done photo was redone"
    );
    assert_eq!(files_in(&out).len(), 4);
}
