"""`appliance provision [apply]`, `appliance factory-reset`: a terminal's identity onto its card, applied once, wiped.

The work is in image/provision.py (the file and the card) and image/firstboot.py (the
terminal's provisioned state); docs/image-field.md is the technician's guide.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from appliance.errors import DomainError, InputError

BOOT_DIR = Path("/boot/config")  # the config partition (partition 1) as the image mounts it
DATA_DIR = Path("/var/lib/appliance")  # the data partition
BASE_CONFIG = Path("/etc/appliance/shop.toml")  # the image's default configuration


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("provision", help="a terminal's provisioning file onto its card; applied at first boot")
    parser.add_argument("--image", type=Path, metavar="IMG",
                        help="a raw disk image file or a flashed card (/dev/sdb) to write provision.toml into")
    parser.add_argument("--file", type=Path, metavar="FILE", help="the provisioning file to check and write")
    parser.set_defaults(func=write_provisioning)
    sub = parser.add_subparsers(dest="action", metavar="[ACTION]")
    apply = sub.add_parser("apply", help="first boot: apply the card's provision.toml once, enrol, remove the code")
    apply.add_argument("--boot-dir", type=Path, default=BOOT_DIR, help=f"the config partition (default {BOOT_DIR})")
    apply.add_argument("--data-dir", type=Path, default=DATA_DIR, help=f"the data partition (default {DATA_DIR})")
    apply.add_argument("--base-config", type=Path, metavar="FILE",
                       help=f"the configuration the provisioned values go over (default {BASE_CONFIG} when it "
                       "exists, else the embedded default)")  # fmt: skip
    apply.add_argument("--timeout", type=float, default=10.0, metavar="S",
                       help="seconds to wait for head office when enrolling (default 10)")
    apply.set_defaults(func=apply_provisioning)
    reset = commands.add_parser("factory-reset", help="erase the data partition: store, secret, configuration")
    reset.add_argument("--data-dir", type=Path, required=True, help=f"the data partition ({DATA_DIR} on a terminal)")
    reset.add_argument("--boot-dir", type=Path, default=BOOT_DIR,
                       help=f"the config partition, whose provision.toml must keep no code (default {BOOT_DIR})")
    reset.add_argument("--yes-erase-all-sales-data", action="store_true",
                       help="confirm without a prompt (scripts); in a terminal you type the device id instead")
    reset.set_defaults(func=reset_terminal)


def write_provisioning(args: argparse.Namespace) -> int:
    from image import disks, provision  # the image tools load only for these commands, as `appliance update` does

    if args.image is None or args.file is None:
        raise InputError("name both: appliance provision --image IMG --file prov.toml (or `appliance provision apply`)")
    prov, text = provision.load(args.file)
    image = args.image
    if image.is_dir() or image.name.endswith(".xz"):
        raise InputError("a signed or compressed image cannot take the file without breaking its signature: flash "
                         "it with `appliance-flash IMAGE_DIR TARGET --provision FILE`, or name a raw disk (a flashed "
                         "card, or disk.img after `xz -dk disk.img.xz`)", where=str(image))  # fmt: skip
    dev = disks.device_number(image)
    busy = disks.Host().in_use(dev) if dev else []
    if busy:
        raise DomainError(f"the card is in use: {'; '.join(busy)}; unmount it first", where=str(image))
    part = provision.write_into(image, text)
    print(f"wrote {provision.FILE} for device {prov.device} (shop {prov.shop}) on partition {part.number} "
          f"({part.label}) of {image}")  # fmt: skip
    if prov.enrollment_code:
        print("it holds the enrolment code: keep the card safe until the terminal's first boot removes it")
    return 0


def apply_provisioning(args: argparse.Namespace) -> int:
    from image import firstboot

    base_path = args.base_config or (BASE_CONFIG if BASE_CONFIG.exists() else None)
    base = firstboot.load_base(base_path)
    for line in firstboot.apply(args.boot_dir, args.data_dir, base=base, timeout=args.timeout):
        print(line)
    return 0


def _till_running() -> bool:
    """The daemon would go on writing a store that is being erased; systemd knows whether it runs."""
    if shutil.which("systemctl") is None:
        return False
    result = subprocess.run(["systemctl", "is-active", "--quiet", "appliance.service"], stderr=subprocess.DEVNULL,
                            timeout=30)  # fmt: skip
    return result.returncode == 0


def reset_terminal(args: argparse.Namespace) -> int:
    from image import firstboot

    if _till_running():
        raise DomainError("the till is running: stop it first (systemctl stop appliance)")
    unsent = firstboot.unsent_events(args.data_dir)
    if unsent:
        print(f"WARNING: {unsent} sales events have not reached head office; a reset loses them "
              "(try `appliance sync now` first)", file=sys.stderr)  # fmt: skip
    if not args.yes_erase_all_sales_data:
        if not sys.stdin.isatty():
            raise DomainError("a factory reset erases every sale on this terminal: confirm with "
                              "--yes-erase-all-sales-data, or run it in a terminal")  # fmt: skip
        word = firstboot.device_id(args.data_dir) or "ERASE"
        answer = input(f"This erases the store, the device secret and the configuration in {args.data_dir}. "
                       f"Type {word} to go on: ")  # fmt: skip
        if answer.strip() != word:
            raise DomainError("not confirmed; nothing was erased")
    for line in firstboot.factory_reset(args.data_dir, args.boot_dir):
        print(line)
    return 0
