//! JPEG input taken with care: the JPEG decoder wants its input whole, so only as many bytes are
//! read as the header's size can need; the image ends at its own end marker, whatever follows
//! (padding, a second image); and a file cut short, even with an end marker put back, is found
//! by asking the decoder whether it read past the data it was given.

use image::DynamicImage;
use std::io::Read;

/// Said of a JPEG whose data stops before its image does.
pub(super) const TRUNCATED: &str =
    "the file ends before the image does (truncated or still being written)";

/// Said of a JPEG in which another image starts before the first ends.
const CUT_BY_ANOTHER: &str = "another image starts before this one ends (it was cut short)";

/// Said of a JPEG whose scans leave coefficients unsent: cut short in an early scan with an
/// end marker put back (or, where the standard allows it, never finished by its encoder).
const UNSENT: &str = "its scans leave part of the image unsent (the file was cut short and \
                      an end marker put back, or its encoder never finished it)";

/// The bytes read before the size is known: the frame header comes after the metadata
/// segments, which stay well within this.
const HEADER_BYTES: u64 = super::METADATA_BYTES;

/// Why a JPEG is not decoded.
pub(super) enum Unfit {
    Io(std::io::Error),
    Because(String),
}

/// The first bytes into `bytes`, in growing chunks until they hold the frame header's size
/// (after the metadata segments) or [`HEADER_BYTES`] are read; that size, or why it cannot be
/// read.
pub(super) fn read_header(
    reader: &mut impl Read,
    bytes: &mut Vec<u8>,
) -> std::io::Result<imagesize::ImageResult<imagesize::ImageSize>> {
    loop {
        let size = imagesize::blob_size(bytes);
        if size.is_ok() || bytes.len() as u64 >= HEADER_BYTES {
            return Ok(size);
        }
        let chunk = (bytes.len() as u64)
            .max(64 << 10)
            .min(HEADER_BYTES - bytes.len() as u64);
        let before = bytes.len();
        reader.take(chunk).read_to_end(bytes)?;
        if bytes.len() == before {
            return Ok(size);
        }
    }
}

/// The whole image, given its first bytes `read` (from [`read_header`]) and the most bytes an
/// image of its header's size can need: read on in growing chunks until its end marker, never
/// past `bound`, and cut there.
pub(super) fn read_image(
    mut reader: impl Read,
    mut read: Vec<u8>,
    bound: u64,
) -> Result<Vec<u8>, Unfit> {
    loop {
        match image_end(&read) {
            Ok(end) => {
                read.truncate(end);
                return Ok(read);
            }
            Err(TRUNCATED) if (read.len() as u64) < bound => {}
            Err(TRUNCATED) => {
                return Err(Unfit::Because(format!(
                    "no end of image within {bound} bytes, more than a JPEG of its size can need"
                )));
            }
            Err(why) => return Err(Unfit::Because(why.into())),
        }
        // Doubling what was read keeps the walks from the start linear in all.
        let chunk = (read.len() as u64)
            .max(1 << 20)
            .min(bound - read.len() as u64);
        let before = read.len();
        (&mut reader)
            .take(chunk)
            .read_to_end(&mut read)
            .map_err(Unfit::Io)?;
        if read.len() == before {
            return Err(Unfit::Because(TRUNCATED.into()));
        }
    }
}

/// Where the image in `bytes` ends (just past its end marker), or what makes it unfit to
/// decode: no start, a cut before the end marker, or scans far too short for the frame they
/// claim to fill (a decompression bomb: a few KB claiming 16384x16384). Walks the segment
/// lengths (so an EXIF thumbnail's own end marker does not count), skipping stuffed bytes and
/// restart markers inside scans.
pub(super) fn image_end(bytes: &[u8]) -> Result<usize, &'static str> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err("no JPEG start marker");
    }
    // Huffman-coded, every 8x8 block of the frame costs at least one bit.
    let (mut blocks, mut scan_bytes) = (0u64, 0u64);
    let mut coverage = Coverage::default();
    let mut i = 2;
    loop {
        // The next marker, past stray bytes and fill bytes.
        let Some(at) = bytes[i.min(bytes.len())..].iter().position(|&b| b == 0xFF) else {
            return Err(TRUNCATED);
        };
        i += at;
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return Err(TRUNCATED);
        };
        i += 1;
        match marker {
            0xD9 if scan_bytes * 8 < blocks => {
                return Err("its data is far too short for the size it claims");
            }
            0xD9 if !coverage.complete() => return Err(UNSENT),
            0xD9 => return Ok(i),
            0xD8 => return Err(CUT_BY_ANOTHER),
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(len) = bytes.get(i..i + 2) else {
            return Err(TRUNCATED);
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < 2 {
            return Err("a segment has an impossible length");
        }
        // A Huffman-coded frame header (baseline, extended, progressive): after the length and
        // the sample precision come the height and the width.
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7)
            && blocks == 0
            && let Some(size) = bytes.get(i + 3..i + 7)
        {
            let h = u64::from(u16::from_be_bytes([size[0], size[1]]));
            let w = u64::from(u16::from_be_bytes([size[2], size[3]]));
            blocks = h.div_ceil(8) * w.div_ceil(8);
        }
        let segment = bytes.get(i + 2..i + len).unwrap_or_default();
        match marker {
            0xC0..=0xC3 | 0xC5..=0xC7 => coverage.frame(marker, segment),
            0xDA => coverage.scan(segment),
            _ => {}
        }
        i += len;
        if marker == 0xDA {
            // Scan data: runs until a marker that is neither a stuffed 0xFF00 nor a restart.
            let start = i;
            loop {
                let Some(at) = bytes[i.min(bytes.len())..].iter().position(|&b| b == 0xFF) else {
                    return Err(TRUNCATED);
                };
                i += at;
                match bytes.get(i + 1) {
                    None => return Err(TRUNCATED),
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(_) => break,
                }
            }
            scan_bytes += (i - start) as u64;
        }
    }
}

/// Which coefficients of which components the scans so far carried, to tell at the end marker
/// whether scans are missing: a file cut short in an early scan of a progressive JPEG, with an
/// end marker put back, decodes from the scans before the cut without complaint.
#[derive(Default)]
struct Coverage {
    progressive: bool,
    /// Per component of the frame: its id, and per coefficient the lowest bit position a scan
    /// has brought it to (progressive), or whether a scan carried it at all (sequential: 0).
    components: Vec<(u8, [Option<u8>; 64])>,
}

impl Coverage {
    /// The frame header (after its length): sample precision, height, width, components.
    fn frame(&mut self, marker: u8, segment: &[u8]) {
        if !self.components.is_empty() {
            return;
        }
        self.progressive = matches!(marker, 0xC2 | 0xC6);
        let count = segment.get(5).copied().unwrap_or(0);
        self.components = (0..usize::from(count))
            .filter_map(|k| segment.get(6 + 3 * k))
            .map(|&id| (id, [None; 64]))
            .collect();
    }

    /// A scan header (after its length): components, spectral range, bit positions.
    fn scan(&mut self, segment: &[u8]) {
        let count = usize::from(segment.first().copied().unwrap_or(0));
        let Some(&[start, end, bits]) = segment.get(1 + 2 * count..4 + 2 * count) else {
            return;
        };
        // Sequential scans carry every coefficient to the last bit.
        let (start, end, low) = if self.progressive {
            (usize::from(start), usize::from(end).min(63), bits & 0x0F)
        } else {
            (0, 63, 0)
        };
        for k in 0..count {
            let id = segment[1 + 2 * k];
            if let Some((_, reached)) = self.components.iter_mut().find(|(c, _)| *c == id) {
                for coefficient in reached.iter_mut().take(end + 1).skip(start) {
                    *coefficient = Some(coefficient.map_or(low, |was| was.min(low)));
                }
            }
        }
    }

    /// Whether every coefficient of every component came to its last bit.
    fn complete(&self) -> bool {
        self.components
            .iter()
            .all(|(_, reached)| reached.iter().all(|&c| c == Some(0)))
    }
}

/// `image` (which ends at its end marker) decoded by `decode`, or None where the decoder needed
/// data the file does not have: a file cut short with an end marker put back decodes without
/// complaint (the decoder reads zero bits past a marker and invents the rest). Decoded first
/// with other bytes between the data and the end marker, a whole image comes out the same (the
/// decoder stops where its scans end), a cut one does not (it reads those bytes where the
/// other decode reads zeros). Only a fingerprint of the first decode is kept, so memory peaks
/// at one decoded image.
pub(super) fn decode_whole<E>(
    image: &[u8],
    decode: impl Fn(&[u8]) -> Result<DynamicImage, E>,
) -> Result<Option<DynamicImage>, E> {
    // Bits that no run of zeros decodes like, and no 0xFF (a marker).
    const OTHER_BYTES: [u8; 64] = [0x5A; 64];
    // Before the end marker and any fill bytes (0xFF) ahead of it.
    let mut end_marker = image.len().saturating_sub(2);
    while end_marker > 0 && image[end_marker - 1] == 0xFF {
        end_marker -= 1;
    }
    let mut padded = Vec::with_capacity(image.len() + OTHER_BYTES.len());
    padded.extend_from_slice(&image[..end_marker]);
    padded.extend_from_slice(&OTHER_BYTES);
    padded.extend_from_slice(&image[end_marker..]);
    let padded = decode(&padded).ok().map(|again| fingerprint(&again));
    let decoded = decode(image)?;
    Ok((padded == Some(fingerprint(&decoded))).then_some(decoded))
}

/// The pixels' layout and a 64-bit hash of their bytes (FxHash's mix: fast, and nobody gains
/// from a collision here).
fn fingerprint(image: &DynamicImage) -> (image::ColorType, u32, u32, u64) {
    let bytes = image.as_bytes();
    let mix =
        |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    let mut words = bytes.chunks_exact(8);
    let mut hash = words.by_ref().fold(0, |h, w| {
        mix(h, u64::from_le_bytes(w.try_into().expect("8 bytes")))
    });
    for &byte in words.remainder() {
        hash = mix(hash, u64::from(byte));
    }
    (image.color(), image.width(), image.height(), hash)
}
