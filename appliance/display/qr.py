"""QR codes as a matrix of dark modules, and that matrix drawn in text with half blocks.

The printer's raster and the console's drawing start from the same matrix, so a phone
reads the same link from the paper and from the screen.
"""

from __future__ import annotations

QUIET_ZONE = 4  # modules of light margin, the minimum ISO/IEC 18004 asks for around the symbol
HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of `data` at error correction M (a creased receipt still scans), quiet zone included."""
    import qrcode  # loaded on the first QR made: the till's idle memory stays small

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def half_blocks(matrix: list[list[bool]]) -> list[str]:
    """Two module rows per text row, dark modules as the foreground.

    A character cell is about twice as tall as wide, so half blocks keep the modules
    square. Draw the rows dark on light (whatever the terminal's colours): a reader
    needs the light quiet zone, and many cannot read an inverted code.
    """
    rows = matrix + [[False] * len(matrix[0])] if len(matrix) % 2 else matrix
    return ["".join(HALF_BLOCKS[top, bottom] for top, bottom in zip(rows[i], rows[i + 1]))
            for i in range(0, len(rows), 2)]
