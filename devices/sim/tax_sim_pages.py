"""The tax provider simulator's pages: the phone-side title form (扫码填抬头) and an issued invoice's PDF.

The form is plain HTML that works without scripts, so a test fills it with one form-encoded POST:
`kind` (personal | company), `name` (the personal name or company title) and `tax_id` (company only).
"""
from __future__ import annotations

from html import escape

_STYLE = ("body{font-family:sans-serif;max-width:28em;margin:1em auto;padding:0 1em}"
          "label{display:block;margin:.8em 0 .2em}input[type=text]{width:100%;font-size:1.1em}"
          ".error{color:#b00020}button{margin-top:1em;font-size:1.1em;padding:.4em 1.2em}")


def title_form(session_id: str, *, error: str = "", kind: str = "personal", name: str = "",
               tax_id: str = "") -> str:
    """The form a resident's phone opens from the kiosk's QR code."""
    company = kind == "company"
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="zh-Hans"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>填写发票抬头</title><style>{_STYLE}</style></head><body>
<h1>填写发票抬头</h1>{problem}
<form method="post" action="/title/{escape(session_id)}">
<fieldset><legend>抬头类型</legend>
<label><input type="radio" name="kind" value="personal"{"" if company else " checked"}> 个人</label>
<label><input type="radio" name="kind" value="company"{" checked" if company else ""}> 单位</label>
</fieldset>
<label for="name">姓名或单位名称</label>
<input type="text" id="name" name="name" maxlength="100" value="{escape(name)}" required>
<label for="tax_id">统一社会信用代码（单位必填）</label>
<input type="text" id="tax_id" name="tax_id" maxlength="18" value="{escape(tax_id)}" autocapitalize="characters">
<button type="submit">提交</button>
</form></body></html>"""


def title_done(name: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-Hans"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>已提交</title><style>{_STYLE}</style></head><body>
<h1>已提交</h1><p>发票抬头“{escape(name)}”已发送到自助终端，请在终端上继续。</p></body></html>"""


def title_gone() -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-Hans"><head><meta charset="utf-8"><title>已失效</title><style>{_STYLE}</style></head>
<body><h1>二维码已失效</h1><p>请在自助终端上重新开始。</p></body></html>"""


def invoice_pdf(lines: list[str]) -> bytes:
    """A one-page PDF listing `lines` (ASCII), enough for a viewer to open what the PDF URL serves."""
    text = "\n".join(f"({_pdf_escape(line)}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 11 Tf 50 780 Td {text} ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_escape(text: str) -> str:
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
