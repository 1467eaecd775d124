"""Types of the public API (see __init__.py)."""

from os import PathLike
from typing import Any, Optional, Sequence, Tuple, TypeVar, Union

from PIL import Image

from ._silhouette import Segmenter as Segmenter, SilhouetteError as SilhouetteError

# A PIL image or a path gives an image back, a numpy array an array, encoded bytes PNG bytes.
Data = TypeVar("Data", Image.Image, bytes, Any)
Path = Union[str, PathLike]

def remove(
    data: Union[Data, Path],
    alpha_matting: bool = False,
    session: Optional[Segmenter] = None,
    only_mask: bool = False,
    post_process_mask: bool = False,
    bgcolor: Optional[Sequence[int]] = None,
    *,
    backend: str = "auto",
    refine: bool = True,
    threshold: float = 0.5,
    softness: float = 0.5,
    **rembg: Any,
) -> Any: ...
def blur(
    data: Union[Data, Path],
    radius: Optional[float] = None,
    *,
    session: Optional[Segmenter] = None,
    backend: str = "auto",
    refine: bool = True,
    threshold: float = 0.5,
    softness: float = 0.5,
) -> Any: ...
def replace(
    data: Union[Data, Path],
    color: Optional[Tuple[int, int, int]] = None,
    image: Optional[Union[Data, Path]] = None,
    *,
    session: Optional[Segmenter] = None,
    backend: str = "auto",
    refine: bool = True,
    threshold: float = 0.5,
    softness: float = 0.5,
) -> Any: ...
def mask(
    data: Union[Data, Path],
    *,
    session: Optional[Segmenter] = None,
    backend: str = "auto",
    refine: bool = False,
) -> Any: ...
