"""A boot slot's kernel command line names its own root.

The Raspberry Pi firmware boots the kernel with the `cmdline.txt` of the boot partition
it chose, and cannot pick a different file per partition. Every boot payload is built
once, saying `root=PARTLABEL=rootA`; written into `bootB` it must say `rootB`, or slot
B's kernel would mount slot A's root (the old software) and the update would seem to
boot while changing nothing. The edit is one word of one small file, done with mtools on
the written partition (no mount: the daemon's update runs without CAP_SYS_ADMIN).
"""

from __future__ import annotations

import os
from pathlib import Path

from image.host import run

ROOT_WORD = "root=PARTLABEL=root"  # followed by the slot letter


def _mtools(argv: list[str], *, step: str, stdin: str | None = None) -> str:
    # MTOOLS_SKIP_CHECK: a partition made by mkfs.vfat with our geometry, not a floppy.
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    return run(argv, env=env, step=step, stdin=stdin).stdout


def retarget(boot: Path, name: str, slot: str) -> str:
    """Rewrite `name` on the FAT filesystem `boot` so its root= word names `slot`; the new command line.

    Raises BuildError (from mtools) when the file cannot be read or written, and
    ValueError when the command line names no slot root: either way the slot must not be
    booted.
    """
    step = f"pointing the kernel command line of boot{slot} at root{slot}"
    text = _mtools(["mtype", "-i", boot, f"::/{name}"], step=step)
    words = text.split()
    roots = [i for i, word in enumerate(words) if word.startswith(ROOT_WORD)]
    if len(roots) != 1 or words[roots[0]][len(ROOT_WORD):] not in ("A", "B"):
        raise ValueError(f"{name} in the update's boot payload does not name one slot root ({ROOT_WORD}A or B): "
                         f"{text.strip()!r}")  # fmt: skip
    words[roots[0]] = ROOT_WORD + slot
    line = " ".join(words) + "\n"
    _mtools(["mcopy", "-o", "-i", boot, "-", f"::/{name}"], step=step, stdin=line)
    if _mtools(["mtype", "-i", boot, f"::/{name}"], step=step) != line:
        raise ValueError(f"{name} on boot{slot} did not read back as written")
    return line
