"""ESC/POS for a ReceiptLayout through python-escpos: Chinese mode switch, styles, native QR, cut, logo."""
from __future__ import annotations

import contextlib
import io

from PIL import Image

from kiosk.receipts.layout import Align, Cut, Feed, QrBlock, ReceiptLayout, TextLine

FS_CHINESE_ON = b"\x1c\x26"  # FS &: double-byte characters from the printer's GB18030 / Big5 font
FS_CHINESE_OFF = b"\x1c\x2e"  # FS .: single-byte code page (ESC t n)
ESC_CODEPAGE = b"\x1b\x74"
QR_SHARE_OF_PAPER = 0.5  # the code takes at most half the paper width


def qr_module_dots(data: str, paper_dots: int) -> int:
    """Dots per module so that the code fits in half the paper, between 3 and 8."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    modules = code.modules_count
    return max(3, min(8, int(paper_dots * QR_SHARE_OF_PAPER) // modules))


def fit_logo(path: str, paper_dots: int) -> Image.Image:
    """The logo scaled to at most the paper width and centred on a white strip as wide as the paper."""
    logo = Image.open(path).convert("RGBA")
    if logo.width > paper_dots:
        logo = logo.resize((paper_dots, max(1, logo.height * paper_dots // logo.width)))
    strip = Image.new("RGB", (paper_dots, logo.height), (255, 255, 255))
    strip.paste(logo, ((paper_dots - logo.width) // 2, 0), logo)
    return strip


def write_layout(printer, layout: ReceiptLayout, paper_dots: int = 576, logo: Image.Image | None = None) -> None:
    """Send the layout through a python-escpos printer object (Network, Serial, Usb, File or Dummy).

    Text goes out as raw bytes in the layout's charset after the matching mode switch; styles are
    sent only when they change; the QR code is drawn by the printer (GS ( k), not sent as an image.
    """
    from escpos.constants import QR_ECLEVEL_M

    cs = layout.charset
    printer.hw("INIT")
    if cs.double_byte:
        printer._raw(FS_CHINESE_ON)
    else:
        printer._raw(FS_CHINESE_OFF + ESC_CODEPAGE + bytes([cs.codepage]))
    if logo is not None:
        with contextlib.redirect_stdout(io.StringIO()):  # python-escpos prints a note for profiles without a width
            printer.image(logo)
    align, bold, double = Align.LEFT, False, False
    for element in layout.elements:
        if isinstance(element, TextLine):
            if element.align != align:
                align = element.align
                printer.set(align=str(align))
            if element.bold != bold:
                bold = element.bold
                printer.set(bold=bold)
            if element.double != double:
                double = element.double
                printer.set(custom_size=True, width=2 if double else 1, height=2 if double else 1)
            printer._raw(cs.encode(element.text.rstrip()) + b"\n")
        elif isinstance(element, QrBlock):
            if align is not Align.CENTER:
                align = Align.CENTER
                printer.set(align="center")
            printer.qr(element.data, native=True, size=qr_module_dots(element.data, paper_dots), ec=QR_ECLEVEL_M)
            printer._raw(b"\n")
        elif isinstance(element, Feed):
            printer._raw(b"\n" * element.lines)
        elif isinstance(element, Cut):
            printer.cut()


def encode_layout(layout: ReceiptLayout, profile: str | None = None, paper_dots: int = 576,
                  logo: Image.Image | None = None) -> bytes:
    """The bytes `write_layout` sends, collected with python-escpos's Dummy printer."""
    from escpos.printer import Dummy

    dummy = Dummy(profile=profile)
    write_layout(dummy, layout, paper_dots, logo)
    return dummy.output
