"""Types of the native module (src/lib.rs)."""

from os import PathLike
from typing import Optional, Sequence, Tuple, Union

Photo = Tuple[bytes, int, int]

class SilhouetteError(Exception): ...

class Segmenter:
    def __init__(self, backend: str = "auto", threads: str = "all") -> None: ...
    @property
    def backend(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def notice(self) -> Optional[str]: ...
    def finish(
        self,
        photos: Sequence[Photo],
        kind: str,
        color: Optional[Tuple[int, int, int]] = None,
        picture: Optional[Photo] = None,
        radius: Optional[float] = None,
        refine: bool = True,
        threshold: float = 0.5,
        softness: float = 0.5,
    ) -> list[bytes]: ...

def load(path: Union[str, PathLike]) -> Photo: ...
def decode(data: bytes, name: str = "<bytes>") -> Photo: ...
