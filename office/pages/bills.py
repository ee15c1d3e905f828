"""The office's bill CSV through the same all-or-nothing import as `kiosk import bills`, line-by-line errors."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from kiosk.errors import ImportFileError, InvalidEntry
from kiosk.services import imports
from office import guard
from office.pages.common import actor, settings, site_id, work

bp = Blueprint("bills", __name__)


@bp.route("/bills", methods=["GET", "POST"])
@guard.needs("admin")
def page() -> Any:
    if request.method == "GET":
        return render_template("bills.html", problems=(), imported=None, filename="")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidEntry("no file", field="file")
    data = upload.read(imports.MAX_FILE_BYTES + 1)
    sid = site_id()
    try:
        if len(data) > imports.MAX_FILE_BYTES:
            raise ImportFileError(f"{upload.filename} is too large", count=1,
                                  problems=((1, f"the file is larger than {imports.MAX_FILE_BYTES} bytes"),))
        with work() as s:
            result = imports.import_bills(s, sid, data, actor=actor(), max_item_fen=settings().limits.max_item_fen)
    except ImportFileError as exc:
        return render_template("bills.html", problems=imports.problems_of(exc), imported=None, error=exc,
                               filename=upload.filename), 400
    return render_template("bills.html", problems=(), imported=result.count, filename=upload.filename)
