"""Layout audit of the kiosk window (a test tool, never shipped): what a resident cannot read or touch.

`audit_window(app)` walks the widgets shown now and returns a `Finding` for each of:
  text-clipped    a label's text is cut: shortened with "…", lines dropped by text_size/max_lines
  text-overflow   a label's glyphs are drawn outside its own box
  text-overlap    two labels' glyphs are drawn over each other
  outside-window  text, a touch target or a scroll view reaches past the window's edge
  scroll-overflow a ScrollView's content is wider (taller) than it and cannot scroll that way
  font-size       text below app.theme.font_min (font_s until the theme has font_min), on every page
  touch-size      a touch target whose smaller side is below app.theme.touch
  touch-overlap   two touch targets whose boxes intersect
What counts as shown: a widget with opacity > 0 and a non-zero size whose parents are all shown (a
zero-size or transparent branch is skipped whole); of a ScreenManager only the current screen; an open
popup (ModalView) and what is above it, not the page it covers. Content inside a ScrollView is audited
whole, as if scrolled to (a resident can scroll every row into view): every rule applies to it except the
window edge, which is checked on the ScrollView itself (when it shows anything); overlaps between scrolled
content and widgets outside it count only inside the ScrollView's viewport, and not at all for a widget laid
over the ScrollView (inside its box, e.g. a "more below" band): the rows scroll out from under it.
Touch targets: anything with ButtonBehavior, or a widget with a handler bound to on_touch_down/up,
on_press/on_release (kv or Python), or a screens/ class that overrides on_touch_down.

`python -m tests.support.layout_audit --size 1080x1920 [--language en] [--large-text] [--only JOURNEY]` walks
every page of tests/support/layout_walk.py on the fake services and prints the findings (docs/ui.md).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

TOLERANCE_PX = 1.0  # rounding: Kivy positions textures on whole pixels
ICON_FONT_HINT = "materialdesignicons"  # glyph icons are pictures, not text to read: no font-size rule


@dataclass(frozen=True)
class Finding:
    rule: str
    widget: str  # class name
    text: str  # the widget's text (or its buttons' texts for an overlap)
    measured: str
    required: str
    where: str = ""  # route/step, filled by the caller
    path: str = ""  # class names from the window down, to find the widget in kv

    def line(self) -> str:
        where = f"[{self.where}] " if self.where else ""
        return f"{where}{self.rule}: {self.widget} {self.text!r}: {self.measured} (needs {self.required})"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Node:
    widget: Any
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in window coordinates
    path: str
    scroll: Any = None  # the nearest ScrollView around it (None: directly on the window)
    viewport: tuple[float, float, float, float] | None = None  # that ScrollView's box
    ancestors: frozenset[int] = field(default_factory=frozenset)


# --- walking what is shown -----------------------------------------------------------------------
def window_box(widget: Any) -> tuple[float, float, float, float]:
    x0, y0 = widget.to_window(widget.x, widget.y)
    x1, y1 = widget.to_window(widget.right, widget.top)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def shown_nodes(roots: Iterable[Any]) -> list[Node]:
    """Every shown widget under `roots` (the window's children, topmost last), in drawing order."""
    from kivy.uix.scrollview import ScrollView

    nodes: list[Node] = []

    def visit(widget: Any, path: str, scroll: Any, viewport: Any, ancestors: frozenset[int]) -> None:
        if getattr(widget, "opacity", 1) <= 0 or widget.width <= 0 or widget.height <= 0:
            return
        name = type(widget).__name__
        here = f"{path}>{name}" if path else name
        node = Node(widget, window_box(widget), here, scroll, viewport, ancestors)
        nodes.append(node)
        inner = ancestors | {id(widget)}
        if isinstance(widget, ScrollView):  # what shows of its content: its box, inside any scroll view around it
            scroll, viewport = widget, _clip(node.box, viewport)
        current = getattr(widget, "current_screen", None)
        children = [current] if current is not None and hasattr(widget, "transition") else list(widget.children)
        for child in reversed(children):  # Kivy draws children[-1] first
            visit(child, here, scroll, viewport, inner)

    for root in roots:
        visit(root, "", None, None, frozenset())
    return nodes


def is_touch_target(widget: Any) -> bool:
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.widget import Widget

    if isinstance(widget, ButtonBehavior):
        return True
    for event in ("on_touch_down", "on_touch_up", "on_press", "on_release"):
        if widget.is_event_type(event) and widget.get_property_observers(event):
            return True
    own = type(widget).on_touch_down
    return own is not Widget.on_touch_down and getattr(own, "__module__", "").startswith("screens.")


def text_of(widget: Any) -> str:
    text = getattr(widget, "text", "")
    if isinstance(text, str) and text.strip():
        return " ".join(text.split())
    labels = [" ".join(c.text.split()) for c in widget.walk(restrict=True)
              if c is not widget and isinstance(getattr(c, "text", None), str) and c.text.strip()]
    return " / ".join(labels)


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the rules ---------------------------------------------------------------------------------
def full_text_size(label: Any) -> tuple[float, float]:
    """The size the label's whole text needs at its wrapping width: no shortening, no line limit, no height."""
    from kivy.core.text import Label as CoreLabel
    from kivy.core.text.markup import MarkupLabel

    options = {name: getattr(label, name) for name in label._font_properties}
    options.update(text_size=(label.text_size[0], None), shorten=False, max_lines=0)
    core = (MarkupLabel if label.markup else CoreLabel)(**options)
    core.render()
    width, height = core._internal_size
    return float(width), float(height)


def drawn_text_box(label: Any) -> tuple[float, float, float, float]:
    """Where the label's laid-out text is drawn, in window coordinates: the texture is centred on the
    widget (Kivy's Label rule) and the text sits in it by halign/valign."""
    tex_w, tex_h = label.texture_size
    drawn_w, drawn_h = label._label._internal_size if label._label is not None else (tex_w, tex_h)
    drawn_w, drawn_h = min(drawn_w, tex_w) or tex_w, min(drawn_h, tex_h) or tex_h
    x0 = int(label.center_x - tex_w / 2.0)
    y0 = int(label.center_y - tex_h / 2.0)
    slack_x, slack_y = tex_w - drawn_w, tex_h - drawn_h
    x0 += {"left": 0.0, "right": slack_x}.get(label.halign, slack_x / 2.0) if label.halign != "justify" else 0.0
    y0 += {"top": slack_y, "bottom": 0.0}.get(label.valign, slack_y / 2.0)
    ax, ay = label.to_window(x0, y0)
    bx, by = label.to_window(x0 + drawn_w, y0 + drawn_h)
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


INK_ALPHA = 48  # a pixel of text counts from this alpha (anti-aliasing fringe below it)
_INKED = bytes(0 if a < INK_ALPHA else 1 for a in range(256))


def ink_box(label: Any) -> tuple[float, float, float, float] | None:
    """Where the label's glyphs really are, in window coordinates (None: nothing drawn). A text's line box is
    taller than its glyphs (the font's ascent and descent leave room above and below), so a line box a few
    pixels past the widget is no fault; glyphs past it are. Renders the text once more, off screen, as Kivy's
    Label does (kivy.core.text LabelBase._render_real, without the texture)."""
    from kivy.core.text import Label as CoreLabel
    from kivy.core.text.markup import MarkupLabel

    options = {name: getattr(label, name) for name in label._font_properties}
    core = (MarkupLabel if label.markup else CoreLabel)(**options)
    size = core.render()
    if size[0] <= 1 or size[1] <= 1 or not core._cached_lines:
        return None
    core._size = core._size_texture = size
    lines = core._cached_lines
    line_options = core._default_line_options(lines)
    if line_options is None:
        return None
    inner_h, valign, pad_top = core._internal_size[1], line_options["valign"], line_options["padding"][1]
    y = {"bottom": int(size[1] - inner_h + pad_top), "top": int(pad_top)}.get(
        valign, int((size[1] - inner_h + 2 * pad_top) / 2))
    core._render_begin()
    core.render_lines(lines, line_options, core._render_text, y, size)
    data = core._render_end()
    width, height = data.width, data.height
    alpha = bytes(data.data)[3::4].translate(_INKED)
    rows = [r for r in range(height) if b"\x01" in alpha[r * width:(r + 1) * width]]
    if not rows:
        return None
    left = min(alpha[r * width:(r + 1) * width].find(b"\x01") for r in rows)
    right = max(alpha[r * width:(r + 1) * width].rfind(b"\x01") for r in rows) + 1
    tex_w, tex_h = label.texture_size
    x0 = int(label.center_x - tex_w / 2.0)
    y0 = int(label.center_y - tex_h / 2.0)
    # the texture's first row is the top of the text; Kivy's y grows upwards
    ax, ay = label.to_window(x0 + left, y0 + tex_h - (rows[-1] + 1))
    bx, by = label.to_window(x0 + right, y0 + tex_h - rows[0])
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def _past(inner: tuple[float, float, float, float], outer: tuple[float, float, float, float]) -> float:
    """How far `inner` reaches past `outer` (0 when inside)."""
    return max(outer[0] - inner[0], inner[2] - outer[2], outer[1] - inner[1], inner[3] - outer[3], 0.0)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> tuple[float, float]:
    return min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])


def _clip(box: tuple[float, float, float, float], to: tuple[float, float, float, float] | None
          ) -> tuple[float, float, float, float]:
    if to is None:
        return box
    return max(box[0], to[0]), max(box[1], to[1]), min(box[2], to[2]), min(box[3], to[3])


def _wh(box: tuple[float, float, float, float]) -> str:
    return f"{box[2] - box[0]:.0f}x{box[3] - box[1]:.0f}"


def label_findings(node: Node, min_font: float, window: tuple[float, float, float, float],
                   ink_of: Any) -> Iterator[Finding]:
    label = node.widget
    text = _short(" ".join(label.text.split()))
    name = type(label).__name__
    icon = ICON_FONT_HINT in str(label.font_name).lower()
    if not icon and label.font_size < min_font - 0.5:
        yield Finding("font-size", name, text, f"font {label.font_size:.0f}px", f">= {min_font:.0f}px",
                      path=node.path)
    need_w, need_h = full_text_size(label)
    tex_w, tex_h = label.texture_size
    drawn_w, drawn_h = label._label._internal_size if label._label is not None else (tex_w, tex_h)
    room_w = min(label.width, label.text_size[0] or label.width)
    room_h = min(label.height, label.text_size[1] or label.height)
    if label.shorten and label.is_shortened:
        yield Finding("text-clipped", name, text, f"shortened with an ellipsis, full text {need_w:.0f}x{need_h:.0f}",
                      f"fits {room_w:.0f}x{room_h:.0f}", path=node.path)
    elif need_h > drawn_h + TOLERANCE_PX or need_w > drawn_w + TOLERANCE_PX:
        yield Finding("text-clipped", name, text, f"full text {need_w:.0f}x{need_h:.0f}, drawn {drawn_w:.0f}x"
                      f"{drawn_h:.0f}", f"fits {room_w:.0f}x{room_h:.0f}", path=node.path)
    drawn = drawn_text_box(label)
    if _past(drawn, node.box) > TOLERANCE_PX or (node.scroll is None and _past(drawn, window) > TOLERANCE_PX):
        inked = ink_of(node)  # the line box reaches out: do the glyphs?
        if inked is not None and _past(inked, node.box) > TOLERANCE_PX:
            yield Finding("text-overflow", name, text, f"glyphs reach {_past(inked, node.box):.0f}px past the "
                          f"label's box {_wh(node.box)} (text {_wh(drawn)})", "text inside its box", path=node.path)
        if inked is not None and node.scroll is None and _past(inked, window) > TOLERANCE_PX:
            yield Finding("outside-window", name, text, f"text reaches {_past(inked, window):.0f}px past the "
                          "window edge", "inside the window", path=node.path)


def touch_findings(node: Node, touch: float, window: tuple[float, float, float, float]) -> Iterator[Finding]:
    widget = node.widget
    name, text = type(widget).__name__, _short(text_of(widget))
    side = min(widget.width, widget.height)
    if side < touch - 0.5:
        yield Finding("touch-size", name, text, f"{widget.width:.0f}x{widget.height:.0f}",
                      f"smaller side >= {touch:.0f}px", path=node.path)
    if node.scroll is None:
        past = _past(node.box, window)
        if past > TOLERANCE_PX:
            yield Finding("outside-window", name, text, f"reaches {past:.0f}px past the window edge",
                          "inside the window", path=node.path)


def scroll_findings(node: Node, window: tuple[float, float, float, float]) -> Iterator[Finding]:
    view = node.widget
    name = type(view).__name__
    if node.scroll is None and any(text_of(child) or is_touch_target(child) for child in view.children):
        past = _past(node.box, window)  # an empty scroll view past the edge shows nothing
        if past > TOLERANCE_PX:
            yield Finding("outside-window", name, "", f"reaches {past:.0f}px past the window edge",
                          "inside the window", path=node.path)
    for child in view.children:
        text = _short(text_of(child))
        if not view.do_scroll_x and child.width > view.width + TOLERANCE_PX:
            yield Finding("scroll-overflow", name, text, f"content {child.width:.0f}px wide in {view.width:.0f}px",
                          "content no wider than a ScrollView that does not scroll sideways", path=node.path)
        if not view.do_scroll_y and child.height > view.height + TOLERANCE_PX:
            yield Finding("scroll-overflow", name, text, f"content {child.height:.0f}px high in {view.height:.0f}px",
                          "content no taller than a ScrollView that does not scroll up and down", path=node.path)


def bar_track(view: Any) -> tuple[float, float, float, float] | None:
    """Where a ScrollView's vertical bar runs (its whole track: the handle slides along it), in window
    coordinates; None while the bar is not drawn (the content fits, or the view does not scroll up and down)."""
    if not view.do_scroll_y or view.bar_width <= 0 or view.viewport_size[1] <= view.height + TOLERANCE_PX:
        return None
    x0, y0, x1, y1 = window_box(view)
    if view.bar_pos_y == "right":
        return x1 - view.bar_margin - view.bar_width, y0, x1 - view.bar_margin, y1
    return x0 + view.bar_margin, y0, x0 + view.bar_margin + view.bar_width, y1


def under_bar_findings(node: Node, box: tuple[float, float, float, float] | None, what: str) -> Iterator[Finding]:
    """Text whose glyphs, or a touch target, lie under the scroll bar of the view they scroll in: the bar is drawn
    over the glyphs, and a touch there drags the bar ("bars" scrolling) instead of pressing the button."""
    track = bar_track(node.scroll) if node.scroll is not None else None
    if track is None or box is None:
        return
    w, h = _overlap(_clip(box, node.viewport), track)
    if w > TOLERANCE_PX and h > TOLERANCE_PX:
        yield Finding("under-scroll-bar", type(node.widget).__name__, _short(text_of(node.widget)),
                      f"{what} {w:.0f}x{h:.0f}px under the bar", f"{what} clear of its scroll view's bar",
                      path=node.path)


def _laid_over(scrolled: Node, other: Node) -> bool:
    """`other` lies over the ScrollView that `scrolled` is in (a "more below" band, a floating button): the
    rows scroll out from under it, so they do not overlap for good."""
    if scrolled.scroll is None or other.scroll is scrolled.scroll or id(scrolled.scroll) in other.ancestors:
        return False
    return _past(other.box, window_box(scrolled.scroll)) <= TOLERANCE_PX


def overlap_findings(nodes: list[Node], rule: str, box_of: Any, confirm: Any = None) -> Iterator[Finding]:
    """Pairs whose boxes intersect (neither inside the other's subtree). Boxes of scrolled content are
    compared as they are with content of the same ScrollView, else only where they show in its viewport.
    `confirm(a, b)` measures a candidate pair again, closer (the glyphs of two texts, not their line boxes)."""
    boxes = [box_of(n) for n in nodes]
    for i, a in enumerate(nodes):
        for j in range(i + 1, len(nodes)):
            b = nodes[j]
            if id(a.widget) in b.ancestors or id(b.widget) in a.ancestors:
                continue
            box_a, box_b = boxes[i], boxes[j]
            if a.scroll is not b.scroll:
                if _laid_over(a, b) or _laid_over(b, a):
                    continue
                box_a, box_b = _clip(box_a, a.viewport), _clip(box_b, b.viewport)
            w, h = _overlap(box_a, box_b)
            if w > TOLERANCE_PX and h > TOLERANCE_PX and confirm is not None:
                w, h = confirm(a, b)
            if w > TOLERANCE_PX and h > TOLERANCE_PX:
                text = f"{_short(text_of(a.widget), 40)} | {_short(text_of(b.widget), 40)}"
                yield Finding(rule, f"{type(a.widget).__name__}+{type(b.widget).__name__}", text,
                              f"overlap {w:.0f}x{h:.0f}", "no overlap", path=f"{a.path} | {b.path}")


def audit_nodes(nodes: list[Node], min_font: float, touch: float, window_size: tuple[float, float]) -> list[Finding]:
    from kivy.uix.label import Label
    from kivy.uix.scrollview import ScrollView

    window = (0.0, 0.0, float(window_size[0]), float(window_size[1]))
    inks: dict[int, Any] = {}

    def ink_of(node: Node) -> Any:
        if id(node.widget) not in inks:
            inks[id(node.widget)] = ink_box(node.widget)
        return inks[id(node.widget)]

    def glyphs_overlap(a: Node, b: Node) -> tuple[float, float]:
        box_a, box_b = ink_of(a), ink_of(b)
        if box_a is None or box_b is None:
            return 0.0, 0.0
        if a.scroll is not b.scroll:
            box_a, box_b = _clip(box_a, a.viewport), _clip(box_b, b.viewport)
        return _overlap(box_a, box_b)

    findings: list[Finding] = []
    texts: list[Node] = []
    targets: list[Node] = []
    for node in nodes:
        widget = node.widget
        if isinstance(widget, Label) and widget.text.strip():
            findings += label_findings(node, min_font, window, ink_of)
            findings += under_bar_findings(node, ink_of(node), "glyphs")
            texts.append(node)
        if is_touch_target(widget):
            findings += touch_findings(node, touch, window)
            findings += under_bar_findings(node, node.box, "touch target")
            targets.append(node)
        if isinstance(widget, ScrollView):
            findings += scroll_findings(node, window)
    findings += overlap_findings(targets, "touch-overlap", lambda n: n.box)
    findings += overlap_findings(texts, "text-overlap", lambda n: drawn_text_box(n.widget), glyphs_overlap)
    return findings


def theme_minimums(theme: Any) -> tuple[float, float]:
    """(smallest font for text a resident reads, smallest touch side) from the running theme."""
    font_min = getattr(theme, "font_min", None) or theme.font_s
    return float(font_min), float(theme.touch)


def uncovered_roots(window: Any) -> list[Any]:
    """The window's children a person can see and touch, bottom first: an open popup (ModalView) covers
    everything under it, so the page beneath a popup is not audited with it."""
    from kivy.uix.modalview import ModalView

    roots = list(reversed(window.children))  # children[0] is drawn last, on top
    tops = [i for i, w in enumerate(roots) if isinstance(w, ModalView)]
    return roots[tops[-1]:] if tops else roots


def audit_window(app: Any, where: str = "") -> list[Finding]:
    """Findings for everything on the kiosk window now (the root layout and its screen, or the popup on it)."""
    from kivy.core.window import Window

    font_min, touch = theme_minimums(app.theme)
    findings = audit_nodes(shown_nodes(uncovered_roots(Window)), font_min, touch, Window.size)
    return [Finding(**{**f.to_dict(), "where": where}) for f in findings]


# --- command line ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.layout_audit",
                                     description="Walk every page on the fake services and print layout findings.")
    parser.add_argument("--size", action="append", help="window size WxH (repeatable; default 1080x1920)")
    parser.add_argument("--language", action="append", choices=("zh_Hans", "zh_Hant", "en"),
                        help="language to walk (repeatable; default: all three)")
    parser.add_argument("--large-text", action="store_true", help="large-text mode only")
    parser.add_argument("--both-text-sizes", action="store_true", help="normal and large text")
    parser.add_argument("--only", action="append", default=[], help="only journeys whose name starts so "
                        "(repeatable; names in tests/support/layout_walk.py)")
    parser.add_argument("--rule", action="append", default=[], help="print only findings of this rule")
    parser.add_argument("--shots", default="", help="save a screenshot of every audited page into this folder")
    parser.add_argument("--summary", action="store_true", help="one line per page and finding, passes grouped")
    args = parser.parse_args(argv)
    from tests.support.layout_walk import Pass, run_walks, summarize

    sizes = [tuple(int(v) for v in size.lower().split("x")) for size in args.size or ["1080x1920"]]
    languages = args.language or ["zh_Hans", "zh_Hant", "en"]
    text_sizes = (False, True) if args.both_text_sizes else (args.large_text,)
    passes = [Pass(language, large) for large in text_sizes for language in (languages[::-1] if large else languages)]
    results = run_walks(sizes, passes, only=tuple(args.only), shots=args.shots or None)
    shown = [f for r in results.values() for f in r.findings if not args.rule or f.rule in args.rule]
    print(summarize(shown, limit=10_000) if args.summary else "\n".join(f.line() for f in shown))
    for size, result in results.items():
        for problem in result.problems:
            print(f"walk: {problem}", file=sys.stderr)
        print(f"{size[0]}x{size[1]}: {len(result.findings)} findings on {result.pages} pages "
              f"({', '.join(p.name for p in passes)}) in {result.seconds:.0f} s", file=sys.stderr)
    return 1 if shown or any(r.problems for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
