"""How the kit writes dataset folders and caches once: drawn datasets in chunks (this process or a pool, a
progress bar, bytes independent of the number of workers) and caches of converted files, made complete in a
temporary sibling folder that replaces the final one only when every file is there (``COMPLETE.json`` last)."""
from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

from tqdm.auto import tqdm

from .common import DataError, default_workers


def draw_in_chunks(write: Callable[[str, int, int, list], int], folder: Path, seed: int, size: int,
                   items: Sequence, *, workers: int | None, desc: str, progress: bool = True, chunk: int = 25) -> None:
    """Draw ``items`` with ``write(folder, seed, size, chunk_of_items) -> images written``, ``chunk`` items per call,
    in this process (``workers`` 0 or 1) or a pool of ``workers`` processes (None: up to 8 for large jobs, this
    process for small ones); a progress bar counts the images. Each item draws from its own seeded stream, so the
    bytes do not depend on ``workers``."""
    n = len(items)
    if workers is None:
        workers = 0 if n * size * size < 200 * 256 * 256 else min(8, os.cpu_count() or 1)
    jobs = [list(items[i:i + chunk]) for i in range(0, n, chunk)]
    with tqdm(total=n, desc=desc, unit="img", disable=not progress) as bar:
        if workers <= 1:
            for j in jobs:
                bar.update(write(str(folder), seed, size, j))
        else:
            with ProcessPoolExecutor(workers) as pool:
                for done in pool.map(write, [str(folder)] * len(jobs), [seed] * len(jobs), [size] * len(jobs), jobs):
                    bar.update(done)


def publish_folder(tmp: Path, out: Path, manifest_file: str, manifest: dict) -> None:
    """Finish a folder written in ``tmp``: its manifest last (it marks the folder complete), then ``tmp`` replaces
    ``out`` (an older folder of the same kind is removed first)."""
    (Path(tmp) / manifest_file).write_text(json.dumps(manifest, indent=2) + "\n")
    if Path(out).is_dir():
        shutil.rmtree(out)
    os.replace(tmp, out)


def read_json(path: Path) -> dict | None:
    """A JSON file's content, or None when it is missing or unreadable (a manifest or marker not yet written)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def cache_complete(final: Path, want: dict) -> bool:
    """Whether the cache folder ``final`` is complete and was made with the settings ``want``."""
    return read_json(Path(final) / "COMPLETE.json") == want


def build_cache(final: Path, want: dict, tasks: Sequence[Callable[[Path], None]], *, desc: str, why: str,
                progress: bool = True) -> Path:
    """Make the cache folder ``final``: every task writes its file into a temporary sibling folder (threads, a
    progress bar), ``COMPLETE.json`` (``want``) is written last, and the folder replaces ``final``; an interrupted
    build leaves no half cache. ``why``: what the folder must be writable for (the error names it). Returns ``final``."""
    final = Path(final)
    tmp = final.parent / f".{final.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir(parents=True)
    except OSError as e:
        raise DataError(f"cannot write the label cache in {final.parent} ({e}); {why}") from None
    try:
        with ThreadPoolExecutor(default_workers()) as pool, \
                tqdm(total=len(tasks), desc=desc, unit="img", disable=not progress) as bar:
            for f in [pool.submit(task, tmp) for task in tasks]:
                f.result()
                bar.update()
        (tmp / "COMPLETE.json").write_text(json.dumps(want) + "\n")       # last: marks completeness
        if final.exists():
            shutil.rmtree(final)
        try:
            os.replace(tmp, final)
        except OSError:
            if not (final / "COMPLETE.json").is_file():      # another process did not just finish the same cache
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
