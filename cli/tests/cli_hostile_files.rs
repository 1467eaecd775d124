//! The CLI against hostile files (issue 9's defects, each through the built binary): NaN weights,
//! a bad tensor, truncated or bomb JPEGs, huge files, devices and pipes, headers that lie about
//! their size. Each is refused early with one clear line naming the file, and exit code 2.

mod common;
use common::run::*;
use std::path::Path;

/// The built-in weights with `edit` applied to tensor `name`'s f16 values and shape.
fn edited_weights(
    path: &Path,
    name: &str,
    edit: impl FnOnce(&mut Vec<half::f16>, &mut Vec<usize>),
) {
    use safetensors::SafeTensors;
    let file = SafeTensors::deserialize(silhouette::weights::EMBEDDED).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec()))
        .collect();
    let (_, shape, data) = tensors.iter_mut().find(|t| t.0 == name).unwrap();
    let mut values: Vec<half::f16> = data
        .chunks_exact(2)
        .map(|b| half::f16::from_le_bytes([b[0], b[1]]))
        .collect();
    edit(&mut values, shape);
    *data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, shape, data)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F16, shape.clone(), data)
                    .unwrap();
            (n.clone(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

/// `mask` of the bundled photo into `dir` with these weights.
fn mask_with_weights(dir: &Path, weights: &Path) -> std::process::Output {
    let out = dir.join("m.png");
    silhouette(&[
        "mask",
        PHOTO,
        "-o",
        s(&out),
        "--weights",
        s(weights),
        "--backend",
        "cpu",
    ])
}

// 5. NaN or infinite parameters are refused at load, naming the file and the tensor.
#[test]
fn non_finite_weights_are_refused_naming_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    for (value, file) in [
        (half::f16::NAN, "nan.safetensors"),
        (half::f16::INFINITY, "inf.safetensors"),
    ] {
        let weights = dir.path().join(file);
        edited_weights(&weights, "enc4.depthwise.weight", |v, _| v[7] = value);
        let out = mask_with_weights(dir.path(), &weights);
        fails_with(
            &out,
            &format!("{file}: enc4.depthwise.weight: parameter 7 is"),
        );
    }
    assert_eq!(files_in(dir.path()).len(), 2);
}

// 6. A truncated JPEG is an error naming the file, also in a folder (non-zero exit).
#[test]
fn truncated_jpegs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(PHOTO).unwrap();
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 4]).unwrap();
    let out = mask_on_cpu(&cut, &dir.path().join("m.png"));
    fails_with(
        &out,
        "cut.jpg: not a readable image (the file ends before the image does",
    );

    let folder = dir.path().join("photos");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(PHOTO, folder.join("good.jpg")).unwrap();
    std::fs::rename(&cut, folder.join("cut.jpg")).unwrap();
    let outputs = dir.path().join("out");
    let out = mask_on_cpu(&folder, &outputs);
    fails_with(&out, "cut.jpg: not a readable image");
    fails_with(&out, "1 of 2 files failed");
    assert_eq!(files_in(&outputs), [outputs.join("good.png")]);
}

/// A baseline JPEG whose frame header claims `w` x `h`, cut to its first `keep` bytes.
fn jpeg_claiming(w: u16, h: u16, keep: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    let small = image::RgbImage::from_fn(128, 128, |x, y| {
        image::Rgb([(x * y % 251) as u8, (x * 7 + y * 13) as u8, (x ^ y) as u8])
    });
    image::DynamicImage::ImageRgb8(small)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let sof = bytes.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
    bytes[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    bytes.truncate(keep);
    bytes
}

// 6b. A 2.5 KB truncated JPEG that claims 16384x16384 is refused before it is decoded (it used
// to cost a minute and 2.67 GB).
#[cfg(target_os = "linux")]
#[test]
fn a_tiny_truncated_jpeg_claiming_the_largest_size_costs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.jpg");
    let bytes = jpeg_claiming(16384, 16384, 2500);
    assert!(bytes.len() <= 2500);
    std::fs::write(&bomb, bytes).unwrap();
    let (status, kb) = mask_on_cpu_peak_kb(&bomb, &dir.path().join("m.png"));
    assert_eq!(status.code(), Some(2));
    assert!(kb < 200 * 1024, "peak {kb} KB");
}

// 7. Formats are sniffed before anything is read whole; devices and pipes are refused; a size
// cap bounds what is read.
#[cfg(target_os = "linux")]
#[test]
fn huge_files_and_devices_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    for (name, head) in [
        ("zeros.png", &b""[..]),
        ("png_then_zeros.png", b"\x89PNG\r\n\x1a\n"),
    ] {
        let sparse = dir.path().join(name);
        let file = std::fs::File::create(&sparse).unwrap();
        std::io::Write::write_all(&mut &file, head).unwrap();
        file.set_len(2 << 30).unwrap();
        let (status, kb) = mask_on_cpu_peak_kb(&sparse, &out);
        assert_eq!(status.code(), Some(2), "{name}");
        assert!(kb < 200 * 1024, "{name}: peak {kb} KB");
    }
    fails_with(
        &silhouette(&["mask", "/dev/zero", "-o", s(&out), "--backend", "cpu"]),
        "/dev/zero: not a regular file",
    );
    fails_with(
        &silhouette(&["mask", PHOTO, "-o", s(&out), "--weights", "/dev/zero"]),
        "/dev/zero: not a regular file",
    );
    let big_weights = dir.path().join("big.safetensors");
    std::fs::File::create(&big_weights)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    fails_with(
        &silhouette(&["mask", PHOTO, "-o", s(&out), "--weights", s(&big_weights)]),
        "big.safetensors: 1073741824 bytes, more than",
    );
    assert!(!out.exists());
}

// 11a. A bad bias is named as the bias, with the file.
#[test]
fn a_bad_tensor_is_named_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("w.safetensors");
    edited_weights(&weights, "stem.conv.bias", |values, shape| {
        values.truncate(5);
        *shape = vec![5];
    });
    let out = mask_with_weights(dir.path(), &weights);
    fails_with(
        &out,
        "w.safetensors: stem.conv.bias: shape [5], expected [16]",
    );
}

/// A lossless WebP header claiming `w` x `h`, then junk.
fn lossless_webp(w: u32, h: u32) -> Vec<u8> {
    let bits = (w - 1) | ((h - 1) << 14);
    let mut data = vec![0x2f];
    data.extend(bits.to_le_bytes());
    data.extend([0; 64]);
    let mut chunk = b"VP8L".to_vec();
    chunk.extend((data.len() as u32).to_le_bytes());
    chunk.extend(data);
    let mut file = b"RIFF".to_vec();
    file.extend((4 + chunk.len() as u32).to_le_bytes());
    file.extend(b"WEBP");
    file.extend(chunk);
    file
}

// 11b-c. Sizes are reported as the header states them.
#[test]
fn sizes_are_reported_as_the_header_claims() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    let wide = dir.path().join("wide.webp");
    std::fs::write(&wide, lossless_webp(16384, 2)).unwrap();
    fails_with(
        &mask_on_cpu(&wide, &out),
        "its header says 16384x2 but the WebP decoder reads 0x2",
    );
    // A PNG whose header claims 2^31 - 1 squared.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend([
        0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 8, 2, 0, 0, 0, 0, 0, 0, 0,
    ]);
    let huge = dir.path().join("huge.png");
    std::fs::write(&huge, png).unwrap();
    fails_with(
        &mask_on_cpu(&huge, &out),
        "huge.png: image is 2147483647x2147483647; sides from 1 to 16384",
    );
}

/// A small JPEG of the bundled photo, as the image crate writes it (baseline).
fn small_jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::open(PHOTO)
        .unwrap()
        .resize_exact(w, h, image::imageops::Triangle)
        .to_rgb8()
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    bytes
}

/// `head`, then zeros to 2 GiB (sparse: nothing is written).
#[cfg(target_os = "linux")]
fn padded_to_2_gib(path: &Path, head: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    std::io::Write::write_all(&mut &file, head).unwrap();
    file.set_len(2 << 30).unwrap();
}

// Issue 24, 5. A JPEG was read whole before anything else: a valid 64x48 JPEG followed by 2 GiB
// of padding took 18.7 s and 4.1 GB, a JPEG start followed by 2 GiB of zeros 12.6 s and 2.05 GB.
// Now no more is read than the header's size can need.
#[cfg(target_os = "linux")]
#[test]
fn a_jpeg_is_read_only_as_far_as_its_header_allows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    let padded = dir.path().join("padded.jpg");
    padded_to_2_gib(&padded, &small_jpeg(64, 48));
    let (status, kb) = mask_on_cpu_peak_kb(&padded, &out);
    assert!(status.success(), "{status:?}");
    assert!(kb < 200 * 1024, "padded: peak {kb} KB");
    assert_eq!(image::image_dimensions(&out).unwrap(), (64, 48));

    let zeros = dir.path().join("zeros.jpg");
    padded_to_2_gib(&zeros, &[0xFF, 0xD8, 0xFF]);
    let (status, kb) = mask_on_cpu_peak_kb(&zeros, &dir.path().join("z.png"));
    assert_eq!(status.code(), Some(2));
    assert!(kb < 200 * 1024, "zeros: peak {kb} KB");
}

// Found while fixing issue 24, 5: a 64x48 lossy WebP whose frame chunk claims 2 GiB (the file
// padded to match) was read whole by the WebP decoder, 20 s and 4.1 GB. Every decoder now reads
// through a bound that follows from the header's size.
#[cfg(target_os = "linux")]
#[test]
fn a_webp_chunk_claiming_gigabytes_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut webp = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/seeds/image_bytes/lossy.webp"
    ))
    .unwrap();
    assert_eq!(&webp[12..16], b"VP8 ");
    let claim: u32 = (2 << 30) - 64;
    webp[16..20].copy_from_slice(&claim.to_le_bytes());
    webp[4..8].copy_from_slice(&(claim + 8).to_le_bytes());
    let path = dir.path().join("claims.webp");
    padded_to_2_gib(&path, &webp);
    let (status, kb) = mask_on_cpu_peak_kb(&path, &dir.path().join("m.png"));
    assert_eq!(status.code(), Some(2));
    assert!(kb < 200 * 1024, "peak {kb} KB");
}

/// A 320x240 PNG whose colour profile (iCCP) inflates to `inflated` zero bytes.
fn png_with_profile_of(inflated: usize) -> Vec<u8> {
    use std::io::Write;
    fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        png.extend((data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        png.extend(kind);
        png.extend(data);
        png.extend(crc.finalize().to_be_bytes());
    }
    let zlib = |bytes: &mut dyn Iterator<Item = Vec<u8>>| {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        bytes.for_each(|b| z.write_all(&b).unwrap());
        z.finish().unwrap()
    };
    let (w, h) = (320u32, 240u32);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = [w.to_be_bytes(), h.to_be_bytes()].concat();
    header.extend([8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &header);
    let mut profile = b"bomb\0\0".to_vec();
    profile.extend(zlib(&mut (0..inflated >> 20).map(|_| vec![0; 1 << 20])));
    chunk(&mut png, b"iCCP", &profile);
    let row = |_| [vec![0], vec![90; 3 * w as usize]].concat();
    chunk(&mut png, b"IDAT", &zlib(&mut (0..h).map(row)));
    chunk(&mut png, b"IEND", &[]);
    png
}

// Issue 24, 6. A 2.2 MB PNG whose colour profile inflates to 1 GiB peaked at about 1 GB: the
// PNG decoder's budget was the largest image's. Now it follows this image's size.
#[cfg(target_os = "linux")]
#[test]
fn a_png_colour_profile_bomb_costs_what_the_image_does() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("profile.png");
    std::fs::write(&bomb, png_with_profile_of(512 << 20)).unwrap();
    let out = dir.path().join("m.png");
    let (status, kb) = mask_on_cpu_peak_kb(&bomb, &out);
    assert!(status.success(), "{status:?}");
    assert!(kb < 200 * 1024, "peak {kb} KB");
    assert_eq!(image::image_dimensions(&out).unwrap(), (320, 240));
}

// Issue 24, 7. Cut at 60% with the end marker put back, a JPEG decoded "successfully" with the
// bottom invented (a mean difference of 117 levels), baseline and progressive alike. The
// decoder is now asked whether it read past the data.
#[test]
fn a_truncated_jpeg_with_its_end_marker_put_back_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let progressive = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/seeds/image_bytes/progressive.jpg"
    ))
    .unwrap();
    // Cut inside the progressive file's last scan, every scan has begun: the decoder tells.
    let last_scan = progressive
        .windows(2)
        .rposition(|m| m == [0xFF, 0xDA])
        .unwrap();
    let inside_last_scan = (last_scan + progressive.len()) / 2;
    for (name, bytes, keep) in [
        ("baseline.jpg", std::fs::read(PHOTO).unwrap(), None),
        ("progressive.jpg", progressive.clone(), None),
        ("last_scan.jpg", progressive, Some(inside_last_scan)),
    ] {
        let mut cut = bytes[..keep.unwrap_or(bytes.len() * 6 / 10)].to_vec();
        cut.extend([0xFF, 0xD9]);
        let path = dir.path().join(name);
        std::fs::write(&path, cut).unwrap();
        let out = mask_on_cpu(&path, &dir.path().join("m.png"));
        fails_with(&out, &format!("{name}: not a readable image"));
        assert!(
            ["the file ends before the image does", "cut short"]
                .iter()
                .any(|why| stderr(&out).contains(why)),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(files_in(dir.path()).len(), 3);
}

// Issue 24, 11b. A PNG signature without its header chunk was "image is 0x0".
#[test]
fn a_png_without_its_header_chunk_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headless.png");
    std::fs::write(&path, [&b"\x89PNG\r\n\x1a\n"[..], &[0; 16]].concat()).unwrap();
    let out = silhouette(&["mask", s(&path), "-o", s(&dir.path().join("m.png"))]);
    fails_with(
        &out,
        "headless.png: not a readable image (a PNG signature without the IHDR",
    );
    assert!(!stderr(&out).contains("0x0"), "{}", stderr(&out));
}
