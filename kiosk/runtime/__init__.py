"""Generic device threading for every device: event bus, one worker thread per device, supervisor, card watcher.

Shape (the printer and cash acceptor use the same pieces as the card reader):

    bus = EventBus()
    worker = DeviceWorker("printer", printer)          # owns the device on one thread
    supervisor = DeviceSupervisor(worker, bus)          # opens it, reopens it, publishes health
    supervisor.start()
    future = supervisor.submit(lambda p: p.print_receipt(doc))   # any thread; result via the Future
    ...
    supervisor.stop()

Nothing here imports Kivy; the UI subscribes to the bus and hops onto its own clock.
"""
from __future__ import annotations

from kiosk.runtime.card_watcher import CardWatcher
from kiosk.runtime.events import CardPresented, CardRemovedEvent, DeviceHealth, DeviceHealthChanged, EventBus
from kiosk.runtime.supervisor import DeviceSupervisor
from kiosk.runtime.worker import DeviceWorker

__all__ = ["CardPresented", "CardRemovedEvent", "CardWatcher", "DeviceHealth", "DeviceHealthChanged",
           "DeviceSupervisor", "DeviceWorker", "EventBus"]
