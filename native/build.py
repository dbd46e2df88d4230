"""cffi build script (API mode, out of line) for the appliance's C hot path.

Run by `pip install` through setup.py; by hand, `python native/build.py OUTDIR` compiles
the module into OUTDIR (the sanitizer and fuzz builds use that). The cdef below is
checked by the compiler against pos_native.h, because the generated module includes
the header: a declaration that drifts from the C code fails the build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
SOURCES = ["basket.c", "tlv.c", "checkdigit.c", "crc.c", "raster.c"]

CDEF = """
typedef struct { int64_t unit_price; int64_t quantity; int64_t tax_rate; int64_t discount; } pos_line_in;
typedef struct { int64_t gross; int64_t discount; int64_t basket_share; int64_t amount; int64_t tax; } pos_line_out;
typedef struct { int64_t rate; int64_t amount; int64_t net; int64_t tax; } pos_rate_out;
int pos_basket(const pos_line_in *lines, size_t n, int64_t basket_discount, int mode, int rounding,
               pos_line_out *out, pos_rate_out *rates, size_t *n_rates, int64_t totals[4], int64_t *bad_line);

typedef struct { uint32_t tag; uint32_t depth; uint32_t offset; uint32_t length; uint32_t constructed;
                 uint32_t start; } pos_tlv;
int pos_tlv_decode(const uint8_t *data, size_t len, unsigned max_depth, pos_tlv *out, size_t cap,
                   size_t *count, size_t *err_offset);

int pos_luhn_check(const char *digits, size_t n);
int pos_gtin_check_digit(const char *body, size_t n);
uint16_t pos_crc16_ccitt_false(const uint8_t *data, size_t n);
uint8_t pos_lrc_xor(const uint8_t *data, size_t n);
int pos_raster_pack(const uint8_t *gray, size_t gray_len, uint32_t width, uint32_t height, uint8_t threshold,
                    uint8_t *out, size_t out_len);
"""

WARNINGS = ["-Wall", "-Wextra", "-Werror"]
# POS_NATIVE_SANITIZE=1 builds for `make native-asan`: AddressSanitizer + UndefinedBehaviorSanitizer.
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"]


def builder(relative_to: Path | None = None) -> FFI:
    """The FFI builder; setuptools wants source paths relative to the project (`relative_to`),
    a standalone compile (which runs in its output folder) wants them absolute."""
    ffi = FFI()
    ffi.cdef(CDEF)
    sanitize = os.environ.get("POS_NATIVE_SANITIZE") == "1"
    flags = WARNINGS + (SANITIZE if sanitize else ["-O2"])
    ffi.set_source(
        "appliance._native",
        '#include "pos_native.h"',
        sources=[_path(HERE / name, relative_to) for name in SOURCES],
        include_dirs=[_path(HERE, relative_to)],
        extra_compile_args=flags + ["-std=gnu11"],
        extra_link_args=SANITIZE[:1] if sanitize else [],
    )
    return ffi


def _path(path: Path, relative_to: Path | None) -> str:
    return os.path.relpath(path, relative_to) if relative_to else str(path)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    out.mkdir(parents=True, exist_ok=True)
    print(builder().compile(tmpdir=str(out), verbose=True))
