//! A reader that refuses to go past a bound: the decoders read through it, so no field inside a
//! file (a chunk's claimed length, say) can make them read more than the image's size allows.

use std::io::{BufRead, Read, Seek, SeekFrom};

/// `inner`, which fails a read that would pass byte `bound` (an error, not an end: a decoder
/// that met an early end could take what it has for the whole image).
pub(super) struct Bounded<R> {
    inner: R,
    position: u64,
    bound: u64,
}

impl<R> Bounded<R> {
    pub(super) fn new(inner: R, bound: u64) -> Self {
        Bounded {
            inner,
            position: 0,
            bound,
        }
    }

    /// How many more bytes may be read, or the error for a read past the bound.
    fn room(&self) -> std::io::Result<u64> {
        match self.bound.saturating_sub(self.position) {
            0 => Err(std::io::Error::other(format!(
                "the file runs on past {} bytes, more than an image of its size can need",
                self.bound
            ))),
            room => Ok(room),
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let room = usize::try_from(self.room()?).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        let n = self.inner.read(&mut buf[..len])?;
        self.position += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let room = usize::try_from(self.room()?).unwrap_or(usize::MAX);
        let buffered = self.inner.fill_buf()?;
        Ok(&buffered[..buffered.len().min(room)])
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.position += n as u64;
    }
}

impl<R: Seek> Seek for Bounded<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.position = self.inner.seek(to)?;
        Ok(self.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_with_an_error_at_the_bound_and_seeks_count() {
        let mut r = Bounded::new(std::io::Cursor::new(vec![7u8; 100]), 10);
        let mut buf = [0; 64];
        assert_eq!(r.read(&mut buf).unwrap(), 10);
        assert!(r.read(&mut buf).is_err());
        r.seek(SeekFrom::Start(4)).unwrap();
        let mut all = Vec::new();
        assert!(r.read_to_end(&mut all).is_err());
        assert_eq!(all.len(), 6);
        r.seek(SeekFrom::Start(0)).unwrap();
        assert_eq!(r.fill_buf().unwrap().len(), 10);
    }
}
