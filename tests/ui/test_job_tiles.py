"""The job tiles: every job has an icon of the shipped set, and rows put the fewer (wider) tiles first."""
from __future__ import annotations

from kiosk.flows.jobs import JOBS
from screens.icons import icon
from screens.job_tiles import ICONS, icon_name, row_sizes


def test_every_job_and_pictogram_has_a_material_design_icon():
    assert all(icon_name(f.value) for f in JOBS)
    assert all(icon(name) for name in ICONS.values())  # an unknown name raises


def test_rows_hold_at_most_the_columns_and_the_first_rows_are_the_shorter():
    assert row_sizes(7, 4) == [3, 4]
    assert row_sizes(7, 3) == [2, 2, 3]
    assert row_sizes(5, 5) == [5]
    assert row_sizes(4, 4) == [4]
    assert row_sizes(2, 4) == [2]
    assert row_sizes(0, 4) == []
