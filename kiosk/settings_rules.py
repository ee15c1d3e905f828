"""The settings' rules beyond each value's type and range (kiosk.settings_ranges): formats, known names, and the
rules between values; each error names the file that set the key."""
from __future__ import annotations

import re
from collections.abc import Callable

from kiosk.errors import ConfigError
from kiosk.settings import WEEKDAYS, GatewaySettings, Settings

_HOURS = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d))?$")


def validate(settings: Settings, origin: dict[str, str]) -> None:
    """Every value in its range (kiosk.settings_ranges), then the rules between values; each error names the
    file that set the key."""
    from kiosk import settings_ranges
    from kiosk.i18n import LANGUAGES

    settings_ranges.check(settings, origin)

    def bad(key: str, rule: str) -> ConfigError:
        return ConfigError(key=f"{settings_ranges.file_of(key, origin)}: '{key}' {rule}")

    for day in WEEKDAYS:
        if not _HOURS.match(getattr(settings.site.hours, day)):
            raise bad(f"site.hours.{day}", "must look like 09:30-22:00 or be empty")
    if settings.ui.language not in LANGUAGES:
        raise bad("ui.language", f"must be one of {', '.join(LANGUAGES)}")
    unknown = set(settings.payments.methods) - {"card", "cash", "qr"}
    if unknown:
        raise bad("payments.methods", f"has unknown method(s) {sorted(unknown)}; known: card, cash, qr")
    if settings.ui.idle_timeout_s <= settings.ui.idle_warning_s:
        raise bad("ui.idle_timeout_s", f"must be above 'ui.idle_warning_s' ({settings.ui.idle_warning_s})")
    if settings.ui.orientation not in ("auto", "portrait", "landscape"):
        raise bad("ui.orientation", "must be one of auto, portrait, landscape")
    if settings.ui.rotation % 90:
        raise bad("ui.rotation", "must be 0, 90, 180 or 270")
    if (settings.ui.width > 0) != (settings.ui.height > 0):
        raise bad("ui.width", "and 'ui.height' must both be set or both be 0")
    if settings.devices.printer.encoding not in ("gb18030", "big5"):
        raise bad("devices.printer.encoding", "must be gb18030 or big5")
    if settings.fleet.webhook_url and not settings.fleet.webhook_url.startswith(("http://", "https://")):
        raise bad("fleet.webhook_url", "must be an http:// or https:// URL, or empty")
    if settings.devices.scanner.kind not in ("serial", "hid"):
        raise bad("devices.scanner.kind", "must be serial or hid")
    _validate_networks(settings.devices.gateway, bad)
    try:
        settings.site.receipt_qr_template.format(number="00000001", site=1)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise bad("site.receipt_qr_template", f"may use only {{number}} and {{site}} ({type(exc).__name__})") from None
    from kiosk.domain.terms import BookingKind

    unknown_kinds = set(settings.bookings.fees_fen) - {str(k) for k in BookingKind}
    if unknown_kinds:
        raise bad("bookings.fees_fen", f"has unknown kind(s) {sorted(unknown_kinds)}")
    from kiosk.domain.terms import SiteFeature

    for key, names in (("site.features_not_offered", settings.site.features_not_offered),
                       ("site.hours.out_of_hours_features", settings.site.hours.out_of_hours_features)):
        unknown_features = set(names) - {str(f) for f in SiteFeature}
        if unknown_features:
            raise bad(key, f"has unknown feature(s) {sorted(unknown_features)}; "
                           f"known: {', '.join(str(f) for f in SiteFeature)}")
    from kiosk.domain.site_clock import zone_named

    try:
        zone_named(settings.site.timezone)
    except ConfigError:
        raise bad("site.timezone", f"{settings.site.timezone!r} is not a known time zone") from None


GATEWAY_NETWORKS = ("wechatpay", "alipay")


def _validate_networks(g: GatewaySettings, bad: Callable[[str, str], ConfigError]) -> None:
    """`devices.gateway.networks`: known names, each once, each with its URL."""
    unknown = [n for n in g.networks if n not in GATEWAY_NETWORKS]
    if unknown:
        raise bad("devices.gateway.networks", f"has unknown network(s) {unknown}; known: {', '.join(GATEWAY_NETWORKS)}")
    if len(set(g.networks)) != len(g.networks):
        raise bad("devices.gateway.networks", "names a network twice")
    for network in g.networks:
        if not getattr(g, network).url:
            raise bad(f"devices.gateway.{network}.url", f"must be set: '{network}' is in 'devices.gateway.networks'")
