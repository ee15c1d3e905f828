"""Line commands that drive a running SimPn532 (used by `kiosk sim reader` on stdin, and by tests).

    present N|UID|FILE   put card N (index in the card file), the card with that UID, or a JSON card in the field
    remove               take the card away
    swap N|UID|FILE      remove and present another card at once
    drop command|ack|response, corrupt [command|response], delay SECONDS, remove-after-auth [SKIP]    one-shot faults
    unplug, replug       pull / reconnect the cable (the device path disappears / comes back)
    save FILE            write the cards (with what the kiosk wrote on them) to a card file
    status               one line: plugged, card in the field, byte counts
    help
"""
from __future__ import annotations

import json
from pathlib import Path

from devices.sim.mifare_card import VirtualMifareCard, load_cards
from devices.sim.pn532_sim import SimPn532

HELP = __doc__.split("\n\n", 1)[1].rstrip() if __doc__ else ""


class SimController:
    def __init__(self, sim: SimPn532, cards: list[VirtualMifareCard]) -> None:
        self.sim = sim
        self.cards = cards

    def _card(self, ref: str) -> VirtualMifareCard:
        if ref.isdigit() and int(ref) < len(self.cards):
            return self.cards[int(ref)]
        for card in self.cards:
            if card.uid.hex().upper() == ref.upper().replace(":", ""):
                return card
        if Path(ref).is_file():
            new = load_cards(ref)
            self.cards.extend(new)
            return new[0]
        try:
            raw = bytes.fromhex(ref.replace(":", ""))
        except ValueError:
            raise ValueError(f"no card {ref!r}: give an index, a UID or a card file") from None
        card = VirtualMifareCard(raw)  # a blank factory card with that UID
        self.cards.append(card)
        return card

    def run(self, line: str) -> str:
        """Execute one command line and return a one-line answer ("ok ..." or "error ...")."""
        words = line.split()
        if not words:
            return ""
        cmd, args = words[0].lower(), words[1:]
        try:
            if cmd == "present" and args:
                card = self._card(args[0])
                self.sim.present(card)
                return f"ok present {card.uid.hex().upper()}"
            if cmd == "swap" and args:
                card = self._card(args[0])
                self.sim.swap(card)
                return f"ok swap {card.uid.hex().upper()}"
            if cmd == "remove":
                card = self.sim.remove()
                return f"ok remove {card.uid.hex().upper() if card else '(none)'}"
            if cmd == "drop" and args:
                self.sim.drop_next(args[0])
                return f"ok drop next {args[0]}"
            if cmd == "corrupt":
                if args and args[0] == "command":
                    self.sim.corrupt_next_command()
                    return "ok corrupt next command"
                self.sim.corrupt_next_response()
                return "ok corrupt next response"
            if cmd == "delay" and args:
                self.sim.delay_next_response(float(args[0]))
                return f"ok delay next response {float(args[0])} s"
            if cmd == "remove-after-auth":
                self.sim.remove_card_after_auth(int(args[0]) if args else 0)
                return "ok card leaves after the next authentication"
            if cmd == "unplug":
                self.sim.unplug()
                return "ok unplugged"
            if cmd == "replug":
                self.sim.replug()
                return f"ok replugged {self.sim.pty_path}"
            if cmd == "save" and args:
                Path(args[0]).write_text(json.dumps({"cards": [c.to_json() for c in self.cards]}, indent=2) + "\n",
                                         encoding="utf-8")
                return f"ok saved {len(self.cards)} cards"
            if cmd == "status":
                card = self.sim.card
                st = self.sim.stats
                return (f"ok plugged={self.sim.plugged} pty={self.sim.pty_path} "
                        f"card={card.uid.hex().upper() if card else '-'} in={st.bytes_in} out={st.bytes_out}")
            if cmd == "help":
                return HELP
        except (ValueError, OSError) as exc:
            return f"error {exc}"
        return f"error unknown command {line.strip()!r} (try help)"
