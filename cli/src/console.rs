//! Every line the command writes goes through here, and nothing here panics: a closed or full
//! stderr is not worth dying for, and a stdout that cannot take the output is an error like any
//! other (`println!` would panic on both; main.rs denies it).

use crate::error::CliError;
use std::io::Write;

/// One line on stderr, prefixed. Failures are ignored: there is nowhere left to report them.
pub(crate) fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "silhouette: {line}");
}

/// `text` and a newline on stdout, flushed: a full disk is an error (exit code 2), never a
/// panic. A reader that stopped reading (`silhouette info | head -1`) got what it wanted: that
/// is no error, as for other command-line tools.
pub(crate) fn print(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Stdout(e)),
        _ => Ok(()),
    }
}
