//! Folders past one machine: the photos split into N shards by a hash of their names (the same
//! on every machine, whatever the listing order, and a photo keeps its shard as others are
//! added), and the JSON-lines report of what became of each photo.

use crate::error::CliError;
use std::path::Path;

/// `--shard I/N`, or `--shard N` with I from the environment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShardArg {
    index: Option<u32>,
    count: u32,
}

/// Where array jobs say which task this is: Kubernetes Indexed Jobs, AWS Batch array jobs.
const INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

pub(crate) fn parse_shard(s: &str) -> Result<ShardArg, String> {
    let bad = || {
        format!(
            "{s:?}: a shard is I/N (0 <= I < N), or N with I from {}",
            INDEX_VARIABLES.join(" or ")
        )
    };
    let number = |t: &str| t.trim().parse::<u32>().map_err(|_| bad());
    let (index, count) = match s.split_once('/') {
        Some((i, n)) => (Some(number(i)?), number(n)?),
        None => (None, number(s)?),
    };
    if count == 0 || index.is_some_and(|i| i >= count) {
        return Err(bad());
    }
    Ok(ShardArg { index, count })
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Shard {
    index: u32,
    count: u32,
}

impl ShardArg {
    /// The shard, its index read from the environment where the flag gave only the count.
    pub(crate) fn resolve(self) -> Result<Shard, CliError> {
        let count = self.count;
        if let Some(index) = self.index {
            return Ok(Shard { index, count });
        }
        let (name, value) = INDEX_VARIABLES
            .iter()
            .find_map(|name| Some((*name, std::env::var(name).ok()?)))
            .ok_or_else(|| CliError::Shard(format!(
                "--shard {count} takes this task's index from {}, and neither is set; give --shard I/{count}",
                INDEX_VARIABLES.join(" or ")
            )))?;
        match value.trim().parse::<u32>() {
            Ok(index) if index < count => Ok(Shard { index, count }),
            _ => Err(CliError::Shard(format!(
                "{name}={value:?} is not an index below the --shard count {count}"
            ))),
        }
    }
}

impl Shard {
    /// Whether `photo` is this shard's: by FNV-1a of its file name (stable across machines and
    /// Rust versions, unlike the standard library's hasher).
    pub(crate) fn holds(&self, photo: &Path) -> bool {
        let name = photo
            .file_name()
            .map(|n| n.as_encoded_bytes())
            .unwrap_or_default();
        let hash = name.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        hash % u64::from(self.count) == u64::from(self.index)
    }
}

/// What became of one photo of a folder run.
pub(crate) enum Outcome {
    Done {
        ms: f64,
    },
    Failed {
        ms: f64,
        error: String,
    },
    /// `--skip-existing` found its output.
    Skipped,
}

/// One JSON line: input, output, status, ms, error.
pub(crate) fn report_line(input: &Path, output: &Path, outcome: &Outcome) -> String {
    let path = |p: &Path| crate::info::json_string(&p.to_string_lossy());
    let (status, ms, error) = match outcome {
        Outcome::Done { ms } => ("done", format!("{ms:.1}"), "null".into()),
        Outcome::Failed { ms, error } => (
            "failed",
            format!("{ms:.1}"),
            crate::info::json_string(error),
        ),
        Outcome::Skipped => ("skipped", "null".into(), "null".into()),
    };
    format!(
        "{{\"input\":{},\"output\":{},\"status\":\"{status}\",\"ms\":{ms},\"error\":{error}}}",
        path(input),
        path(output)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_falls_in_exactly_one_shard() {
        let shards: Vec<Shard> = (0..5).map(|index| Shard { index, count: 5 }).collect();
        let mut sizes = [0; 5];
        for n in 0..1000 {
            let name = format!("IMG_{n:04}.jpg");
            let holders: Vec<usize> = (0..5)
                .filter(|&k| shards[k].holds(Path::new(&name)))
                .collect();
            assert_eq!(holders.len(), 1, "{name}");
            sizes[holders[0]] += 1;
        }
        assert!(
            sizes.iter().all(|&s| (150..250).contains(&s)),
            "unbalanced: {sizes:?}"
        );
    }

    #[test]
    fn shard_flags_parse_or_say_what_they_want() {
        assert!(parse_shard("2/4").is_ok());
        assert!(parse_shard("4").is_ok());
        for bad in ["4/4", "0/0", "x/2", "-1/3", ""] {
            assert!(parse_shard(bad).unwrap_err().contains("I/N"), "{bad}");
        }
    }
}
