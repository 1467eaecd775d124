"""Cut people out of photos on this device: MediaPipe's Selfie Segmentation on silhouette's
engine (a WGSL GPU engine, or a SIMD CPU engine). Nothing is fetched; no pixel leaves the machine.

    from PIL import Image
    import silhouette
    cutout = silhouette.remove(Image.open("me.jpg"))          # RGBA, the background transparent
    blurred = silhouette.blur(Image.open("me.jpg"), radius=8)
    engine = silhouette.Segmenter("cpu")                        # made once, reused: session=engine

Every function takes a PIL image, a numpy array (H, W, 3 or 4, uint8), a batch of them
(N, H, W, 3), encoded bytes (PNG, JPEG, WebP) or a path, and gives back the same kind: an image
for an image or a path, an array for an array, PNG bytes for bytes. Results equal the CLI's.
"""

from io import BytesIO
from os import PathLike

from ._silhouette import Segmenter, SilhouetteError, decode, load

__all__ = ["Segmenter", "SilhouetteError", "remove", "blur", "replace", "mask"]

_engines = {}


def _engine(session, backend):
    if session is not None:
        return session
    if backend not in _engines:
        _engines[backend] = Segmenter(backend)
    return _engines[backend]


def _numpy():
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _photos(data):
    """(list of (rgb bytes, width, height), how to give results back)."""
    from PIL import Image

    numpy = _numpy()
    if isinstance(data, Image.Image):
        rgb = data.convert("RGB")
        return [(rgb.tobytes(), rgb.width, rgb.height)], "image"
    if isinstance(data, (bytes, bytearray, memoryview)):
        return [decode(bytes(data))], "png"
    if isinstance(data, (str, PathLike)):
        return [load(data)], "image"
    if numpy is not None and isinstance(data, numpy.ndarray):
        if data.dtype != numpy.uint8 or data.ndim not in (3, 4) or data.shape[-1] not in (3, 4):
            raise SilhouetteError(f"an array of shape {data.shape} and type {data.dtype}: give (H, W, 3 or 4) or (N, H, W, 3 or 4) uint8")
        frames = data[None] if data.ndim == 3 else data
        if len(frames) == 0 or 0 in frames.shape[1:3]:
            raise SilhouetteError(f"an array of shape {data.shape}: there are no pixels in it")
        photos = [(numpy.ascontiguousarray(f[..., :3]).tobytes(), f.shape[1], f.shape[0]) for f in frames]
        return photos, "array" if data.ndim == 3 else "batch"
    raise SilhouetteError(f"{type(data).__name__}: give a PIL image, a numpy array, encoded bytes or a path")


def _give_back(results, photos, how, channels):
    from PIL import Image

    shape = lambda w, h: (h, w, channels) if channels > 1 else (h, w)
    if how in ("array", "batch"):
        numpy = _numpy()
        arrays = [numpy.frombuffer(r, numpy.uint8).reshape(shape(w, h)) for r, (_, w, h) in zip(results, photos)]
        return arrays[0] if how == "array" else numpy.stack(arrays)
    mode = "RGBA" if channels == 4 else "L"
    image = Image.frombytes(mode, (photos[0][1], photos[0][2]), results[0])
    if how == "png":
        out = BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
    return image


def _run(data, kind, session, backend, channels, **options):
    photos, how = _photos(data)
    results = _engine(session, backend).finish(photos, kind, **options)
    return _give_back(results, photos, how, channels)


def remove(data, alpha_matting=False, session=None, only_mask=False, post_process_mask=False, bgcolor=None,
           *, backend="auto", refine=True, threshold=0.5, softness=0.5, **_rembg):
    """The person cut out of `data`, as rembg's `remove`: RGBA with the background transparent
    (`bgcolor` (r, g, b[, a]): over that colour instead; `only_mask`: the alpha it cuts with,
    one byte a pixel). Differences
    from rembg: edges are always refined (a guided filter, `refine`) rather than by
    `alpha_matting`, which is accepted and ignored, as are `post_process_mask` and rembg's other
    keywords; `session` is a `silhouette.Segmenter`."""
    if only_mask:
        # The cut-out's own alpha (refined, through the response curve), not `mask()`'s.
        photos, how = _photos(data)
        cut = _engine(session, backend).finish(photos, "cut", refine=refine, threshold=threshold,
                                                softness=softness)
        return _give_back([bytes(rgba[3::4]) for rgba in cut], photos, how, 1)
    if bgcolor is not None:
        return replace(data, color=tuple(bgcolor[:3]), session=session, backend=backend, refine=refine,
                       threshold=threshold, softness=softness)
    return _run(data, "cut", session, backend, 4, refine=refine, threshold=threshold, softness=softness)


def blur(data, radius=None, *, session=None, backend="auto", refine=True, threshold=0.5, softness=0.5):
    """`data` with its background blurred (`radius`: the Gaussian's sigma in pixels, default 1%
    of the long side), as the CLI's `blur`. RGBA, opaque."""
    return _run(data, "blur", session, backend, 4, radius=radius, refine=refine, threshold=threshold,
                softness=softness)


def replace(data, color=None, image=None, *, session=None, backend="auto", refine=True, threshold=0.5, softness=0.5):
    """The person in front of `color` (r, g, b) or `image` (anything `remove` takes, scaled to
    cover), as the CLI's `replace`. RGBA, opaque."""
    picture = None
    if image is not None:
        pictures, _ = _photos(image)
        picture = pictures[0]
    elif color is None:
        raise SilhouetteError("replace needs a color or an image")
    return _run(data, "replace", session, backend, 4, color=None if color is None else tuple(color),
                picture=picture, refine=refine, threshold=threshold, softness=softness)


def mask(data, *, session=None, backend="auto", refine=False):
    """The person mask at `data`'s size, one byte a pixel, as the CLI's `mask` (`refine`: edges
    along the photo's, as `mask --refine`)."""
    return _run(data, "mask", session, backend, 1, refine=refine)
