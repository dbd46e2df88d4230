"""The C hot path and its pure-Python twin: the only place that knows which one runs.

`ACTIVE` is "c" when the compiled module (built by `pip install` from native/) loaded,
"python" otherwise, with `REASON` saying why. The fallback is announced (a warning in
the log, and `appliance --version`), never silent. `C` and `TWIN` expose both sides so
tests can hold them to identical answers.

Environment: APPLIANCE_NATIVE=python forces the twin; APPLIANCE_NATIVE_LIB=/path/to/
_native.so loads a particular build (the sanitizer build of `make native-asan`).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from types import SimpleNamespace

from appliance.native import basket_twin, checks_twin, raster_twin, tlv_twin
from appliance.native.errors import NativeError

__all__ = ["ACTIVE", "REASON", "C", "TWIN", "NativeError", "basket", "tlv_decode", "luhn_check",
           "gtin_check_digit", "crc16_ccitt_false", "lrc_xor", "raster_pack", "describe"]

log = logging.getLogger(__name__)

TWIN = SimpleNamespace(
    basket=basket_twin.basket, tlv_decode=tlv_twin.tlv_decode, luhn_check=checks_twin.luhn_check,
    gtin_check_digit=checks_twin.gtin_check_digit, crc16_ccitt_false=checks_twin.crc16_ccitt_false,
    lrc_xor=checks_twin.lrc_xor, raster_pack=raster_twin.raster_pack,
)


def _load() -> tuple[SimpleNamespace | None, str]:
    if os.environ.get("APPLIANCE_NATIVE") == "python":
        return None, "APPLIANCE_NATIVE=python"
    try:
        path = os.environ.get("APPLIANCE_NATIVE_LIB")
        if path:
            spec = importlib.util.spec_from_file_location("appliance._native", path)
            if spec is None or spec.loader is None:
                return None, f"cannot load {path}"
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            from appliance import _native as module  # type: ignore[attr-defined]
    except ImportError as exc:
        return None, f"the C module did not load ({exc}); reinstall with a C compiler present"
    from appliance.native.c_binding import bind

    return bind(module.ffi, module.lib), f"C module {getattr(module, '__file__', '?')}"


C, REASON = _load()
ACTIVE = "c" if C is not None else "python"
if C is None and os.environ.get("APPLIANCE_NATIVE") != "python":
    log.warning("native hot path unavailable, using the Python twin: %s", REASON)
_impl = C or TWIN

basket = _impl.basket
tlv_decode = _impl.tlv_decode
luhn_check = _impl.luhn_check
gtin_check_digit = _impl.gtin_check_digit
crc16_ccitt_false = _impl.crc16_ccitt_false
lrc_xor = _impl.lrc_xor
raster_pack = _impl.raster_pack


def describe() -> str:
    """One line for `appliance --version` and doctor: which path computes the hot path."""
    return "native: C hot path" if ACTIVE == "c" else f"native: Python twin ({REASON})"
