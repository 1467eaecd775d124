"""A folder of photos cut out by Ray Data: each actor loads a silhouette.Segmenter once and cuts
out a batch of photos at a time, written as PNGs (each whole or not at all). The same script runs
on a laptop (local mode, `--workers` processes) or, with RAY_ADDRESS set, on a Ray cluster.

    python examples/python/ray_batch.py PHOTOS_DIR OUT_DIR [--workers 2] [--backend cpu]
"""

import argparse
import os
from pathlib import Path

import ray

import silhouette


class Cutout:
    """One per actor: the engine is loaded once, then reused for every batch."""

    def __init__(self, out, backend):
        self.out = Path(out)
        # One process per worker: each frame on its own thread, not split across the cores
        # the other workers are using.
        self.engine = silhouette.Segmenter(backend, threads="one")

    def __call__(self, batch):
        outputs = []
        for path, data in zip(batch["path"], batch["bytes"]):
            out = self.out / (Path(path).stem + ".png")
            partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            partial.write_bytes(silhouette.remove(bytes(data), session=self.engine))
            os.replace(partial, out)
            outputs.append(str(out))
        return {"path": batch["path"], "output": outputs}


def cut_out(photos, out, workers=2, backend="cpu", batch_size=8):
    """Cuts out every photo of the folder `photos` into `out`; returns {input path: output path}."""
    Path(out).mkdir(parents=True, exist_ok=True)
    if not ray.is_initialized():
        # A CPU for each actor and one for reading the files: with only the actors' CPUs the
        # read tasks would wait for them, and they for the reads.
        ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False)
    ds = ray.data.read_binary_files(str(photos), include_paths=True)
    ds = ds.map_batches(
        Cutout,
        fn_constructor_kwargs={"out": str(out), "backend": backend},
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
    )
    return {row["path"]: row["output"] for row in ds.iter_rows()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos")
    parser.add_argument("out")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="cpu")
    args = parser.parse_args()
    done = cut_out(args.photos, args.out, args.workers, args.backend)
    print(f"{len(done)} photos cut out into {args.out}")
