"""Files between a folder of yours and a sandboxed run: copied in before, copied back after.

The program never sees the folder itself: it works in the sandbox's own empty folder, which the
files are copied into, and only regular files it creates or changes there come back -- never through
a symlink and never to a path outside the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FOLDER_BYTES", "folder_files", "write_files"]

# What travels between a folder and the sandbox, each way (the sandbox's /tmp holds 64 MiB).
FOLDER_BYTES = 16 << 20


def folder_files(folder: str) -> tuple[dict[str, bytes], list[str]]:
    """The regular files under ``folder`` by relative path (symlinks skipped), up to :data:`FOLDER_BYTES`.

    Returns:
        ``(files, notes)``: the files, and a sentence for each thing left out.

    Example:
        >>> folder_files("/nonexistent")
        ({}, [])
    """
    root = Path(folder)
    files: dict[str, bytes] = {}
    total, left_out = 0, 0
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        relative = path.relative_to(root)
        if path.is_symlink() or not path.is_file() or any((root / p).is_symlink() for p in relative.parents):
            continue
        size = path.stat().st_size
        if total + size > FOLDER_BYTES:
            left_out += 1
            continue
        files[relative.as_posix()] = path.read_bytes()
        total += size
    notes = [f"{left_out} files of {folder} were not copied into the sandbox (over 16 MiB in all)"] if left_out else []
    return files, notes


def write_files(folder: str, files: dict[str, bytes], left_out: int = 0) -> list[str]:
    """Write the files a sandboxed program left (by relative path) into ``folder``.

    A path that would leave ``folder`` (through ``..`` or a symlinked subfolder) is refused; an
    existing symlink at a target is replaced, never written through.

    Returns:
        A sentence for each thing not written (``left_out``: files the sandbox did not send back).
    """
    root = os.path.realpath(folder)
    refused = []
    for name, data in files.items():
        parts = name.split("/")
        target = os.path.join(root, *parts)
        parent = os.path.realpath(os.path.dirname(target))
        if ".." in parts or os.path.isabs(name) or not (parent == root or parent.startswith(root + os.sep)):
            refused.append(name)
            continue
        os.makedirs(parent, exist_ok=True)
        if os.path.islink(target):
            os.unlink(target)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(descriptor, "wb") as f:
            f.write(data)
    notes = [f"not copied back to {folder} (the path leaves it): {', '.join(refused)}"] if refused else []
    if left_out:
        notes.append(f"{left_out} files the program wrote were not copied back (over 16 MiB or 1,000 files)")
    return notes
