"""The wheel against the CLI (the same engine through another door): every function on the
bundled photos equals the CLI's output, batches equal single photos, bad input raises naming the
file, and memory stays flat over many calls. SILHOUETTE_CLI names the CLI's binary (tools/test.sh
builds it)."""

import os
import resource
import subprocess
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import silhouette

ROOT = Path(__file__).resolve().parents[2]
# PNG: PIL and the crate decode them to the same pixels (their JPEG decoders differ by a few
# levels, so a JPEG is compared through its path, which the crate decodes as the CLI does).
PHOTOS = sorted((ROOT / "tests" / "data" / "frames").glob("*.png"))
JPEG = ROOT / "examples" / "photos" / "grace_hopper.jpg"
CLI = os.environ.get("SILHOUETTE_CLI", str(ROOT / "target" / "release" / "silhouette"))
ENGINE = silhouette.Segmenter("cpu")


def cli(args, photo, tmp_path):
    out = tmp_path / f"{photo.stem}-{args[0]}.png"
    subprocess.run([CLI, *args, str(photo), "-o", str(out), "--backend", "cpu"], check=True, capture_output=True)
    return np.asarray(Image.open(out))


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.stem)
@pytest.mark.parametrize(
    "verb, flags, call",
    [
        ("cut", [], lambda img: silhouette.remove(img, session=ENGINE)),
        ("blur", [], lambda img: silhouette.blur(img, session=ENGINE)),
        ("blur", ["--radius", "7"], lambda img: silhouette.blur(img, radius=7, session=ENGINE)),
        ("replace", ["--color", "#2e7d32"], lambda img: silhouette.replace(img, color=(0x2E, 0x7D, 0x32), session=ENGINE)),
        ("cut", ["--threshold", "0.6", "--softness", "0.2"], lambda img: silhouette.remove(img, session=ENGINE, threshold=0.6, softness=0.2)),
        ("mask", [], lambda img: silhouette.mask(img, session=ENGINE)),
        ("mask", ["--refine"], lambda img: silhouette.mask(img, session=ENGINE, refine=True)),
    ],
    ids=["cut", "blur", "blur-radius", "replace", "cut-response", "mask", "mask-refine"],
)
def test_every_function_equals_the_cli(photo, verb, flags, call, tmp_path):
    want = cli([verb, *flags], photo, tmp_path)
    got = np.asarray(call(Image.open(photo)))
    if verb in ("blur", "replace"):
        # The CLI writes RGBA PNG for these too; both are opaque.
        assert (got[..., 3] == 255).all()
    assert got.shape == want.shape, (got.shape, want.shape)
    worst = np.abs(got.astype(int) - want.astype(int)).max()
    assert worst <= 1, f"{verb} {flags} on {photo.name}: off by {worst}"


def test_every_kind_of_input_gives_the_same_result_back_in_kind(tmp_path):
    photo = PHOTOS[0]
    image = Image.open(photo)
    want = np.asarray(silhouette.remove(image, session=ENGINE))
    from_path = silhouette.remove(photo, session=ENGINE)
    jpeg = np.asarray(silhouette.remove(JPEG, session=ENGINE))
    assert (jpeg == cli(["cut"], JPEG, tmp_path)).all(), "a JPEG by its path is not the CLI's"
    from_bytes = silhouette.remove(photo.read_bytes(), session=ENGINE)
    from_array = silhouette.remove(np.asarray(image.convert("RGB")), session=ENGINE)
    assert isinstance(from_path, Image.Image) and (np.asarray(from_path) == want).all()
    assert isinstance(from_bytes, bytes) and (np.asarray(Image.open(BytesIO(from_bytes))) == want).all()
    assert isinstance(from_array, np.ndarray) and (from_array == want).all()
    # rembg's keywords: a colour behind, or the mask alone.
    green = np.asarray(silhouette.remove(image, session=ENGINE, bgcolor=(0, 255, 0, 255)))
    assert (green[..., 3] == 255).all() and (green[0, 0, :3] == [0, 255, 0]).all()
    # only_mask: exactly the alpha the cut-out has (refined, with the response curve).
    alpha = silhouette.remove(image, session=ENGINE, only_mask=True)
    assert alpha.mode == "L"
    assert alpha.tobytes() == silhouette.remove(image, session=ENGINE).getchannel("A").tobytes()
    rgb = np.asarray(image.convert("RGB"))
    frames = np.stack([rgb[:, ::-1], rgb])
    alphas = silhouette.remove(frames, session=ENGINE, only_mask=True)
    assert alphas.shape == frames.shape[:3] and (alphas[1] == np.asarray(alpha)).all()
    assert (alphas[0] == silhouette.remove(frames[0], session=ENGINE)[..., 3]).all()


def test_a_batch_equals_its_photos_one_by_one():
    frames = [np.asarray(Image.open(PHOTOS[0]).convert("RGB").resize((160, 120))) for _ in range(3)]
    frames[1] = frames[1][:, ::-1].copy()
    frames[2] = (frames[2] // 2).astype(np.uint8)
    batch = silhouette.blur(np.stack(frames), session=ENGINE)
    assert batch.shape == (3, 120, 160, 4)
    for k, frame in enumerate(frames):
        assert (batch[k] == silhouette.blur(frame, session=ENGINE)).all(), k


def test_bad_input_raises_naming_the_file(tmp_path):
    broken = tmp_path / "holiday.jpg"
    broken.write_bytes(PHOTOS[0].read_bytes()[:2000])
    with pytest.raises(silhouette.SilhouetteError, match="holiday.jpg"):
        silhouette.remove(broken, session=ENGINE)
    with pytest.raises(silhouette.SilhouetteError, match="missing.png"):
        silhouette.blur(tmp_path / "missing.png", session=ENGINE)
    with pytest.raises(silhouette.SilhouetteError, match="uint8"):
        silhouette.mask(np.zeros((4, 4, 3), np.float32), session=ENGINE)
    with pytest.raises(silhouette.SilhouetteError, match="no pixels"):
        silhouette.blur(np.zeros((0, 8, 8, 3), np.uint8), session=ENGINE)
    with pytest.raises(silhouette.SilhouetteError, match="outside"):
        silhouette.remove(Image.open(PHOTOS[0]), session=ENGINE, threshold=2)
    with pytest.raises(silhouette.SilhouetteError, match="backend"):
        silhouette.Segmenter("tpu")
    with pytest.raises(silhouette.SilhouetteError, match="threads"):
        silhouette.Segmenter("cpu", threads="two")


def test_one_thread_gives_what_every_core_gives():
    alone = silhouette.Segmenter("cpu", threads="one")
    assert alone.device.endswith(", 1 thread"), alone.device
    for photo in PHOTOS:
        img = Image.open(photo)
        a = np.asarray(silhouette.mask(img, session=alone), np.int16)
        b = np.asarray(silhouette.mask(img, session=ENGINE), np.int16)
        # A gate's channel means are summed in another order on one thread: a level at most.
        assert np.abs(a - b).max() <= 1, photo.name


def test_memory_stays_flat_over_a_thousand_calls():
    frame = np.asarray(Image.open(PHOTOS[0]).convert("RGB").resize((96, 72)))
    for _ in range(100):
        silhouette.remove(frame, session=ENGINE)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(1000):
        silhouette.remove(frame, session=ENGINE)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 8 * 1024, f"the peak grew {grown_kb} KB over 1000 calls"
