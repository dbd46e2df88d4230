"""The boot side of a board: what goes on its boot partition, and its kernel modules made small enough for the root.

On the Raspberry Pi the firmware loads the kernel, initrd and device trees from the FAT
boot partition, so raspi-firmware's kernel hook output (/boot/firmware) moves there and
the root keeps no second copy. Debian's arm64 kernel ships 290 MB of uncompressed
modules for every arm64 machine; compressed with xz as the kernel's own
`make modules_install` would (kmod loads .ko.xz), they take a quarter of that, which is
what keeps the Pi root under the 600 MB the issue allows.
"""

from __future__ import annotations

import lzma
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from fnmatch import fnmatch
from pathlib import Path

from image.host import BuildError, run
from image.rootfs import RECIPE, Board

# Where Debian's kernel and firmware packages keep what their hooks copy to /boot/firmware.
BOOT_SOURCES = ("boot/vmlinuz-*", "boot/initrd.img-*", "usr/lib/raspi-firmware", "usr/lib/linux-image-*")
# The kernel's own settings for xz-compressed modules (scripts/Makefile.modinst:
# `xz --check=crc32 --lzma2=dict=1MiB`), so any module loader that reads .ko.xz reads these.
MODULE_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 1 << 20}]


def take_boot_files(root: Path, board: Board, boot: Path) -> None:
    """Move what the kernel packages left for the boot partition out of the root, and add our config.txt/cmdline.txt.

    The firmware, kernel and initrd live only on the boot partition (the Pi firmware
    loads them from FAT); /boot/firmware stays in the root as an empty folder. A board
    without a kernel (amd64) gets a note saying so.
    """
    boot.mkdir(parents=True, exist_ok=True)
    if board.firmware_dir is None:
        shutil.copyfile(RECIPE / "boot" / "README.txt", boot / "README.txt")
        return
    firmware = root / board.firmware_dir
    for item in sorted(firmware.iterdir()):
        if any(fnmatch(item.name, pattern) for pattern in board.boot_files):
            # Kernel and initrd without their version, so our config.txt names them once and for all.
            name = item.name.split("-", 1)[0] if item.name.startswith(("vmlinuz-", "initrd.img-")) else item.name
            shutil.move(item, boot / name)
        else:
            item.unlink()
    for name in ("config.txt", *([board.cmdline] if board.cmdline else [])):  # ours replace raspi-firmware's
        shutil.copyfile(RECIPE / board.name / name, boot / name)
    if not (boot / "vmlinuz").exists() or not (boot / "initrd.img").exists():
        raise BuildError("the kernel or its initrd did not reach /boot/firmware: check raspi-firmware's kernel hook "
                         "in the mmdebstrap output", where="boot partition")  # fmt: skip
    # The root keeps no second copy of what boots (150 MB): nothing on a read-only root reruns the kernel hooks.
    for pattern in BOOT_SOURCES:
        for copy in root.glob(pattern):
            if copy.is_dir():
                shutil.rmtree(copy)
            else:
                copy.unlink()


def _compress(module: Path) -> None:
    packed = module.with_name(module.name + ".xz")
    packed.write_bytes(lzma.compress(module.read_bytes(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                                     filters=MODULE_FILTERS))  # fmt: skip
    st = module.stat()
    os.chmod(packed, st.st_mode & 0o7777)
    os.utime(packed, ns=(st.st_atime_ns, st.st_mtime_ns))
    module.unlink()


def compress_modules(root: Path) -> int:
    """xz every kernel module in the root and rebuild modules.dep for the new names; how many were compressed.

    depmod runs from the build machine on the root (`-b`): it reads the modules' ELF
    whatever their architecture, so no emulated chroot is needed.
    """
    versions = sorted((root / "usr/lib/modules").iterdir())
    modules = sorted(p for v in versions for p in v.rglob("*.ko"))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # lzma releases the GIL
        list(pool.map(_compress, modules))
    for version in versions:
        run(["depmod", "-b", root, version.name], step=f"indexing the compressed modules of kernel {version.name}")
    return len(modules)
