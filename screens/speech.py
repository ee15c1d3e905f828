"""Optional spoken prompts through espeak-ng (off by default; silently off when the program is missing)."""
from __future__ import annotations

import logging
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

VOICES = {"zh_Hans": "cmn", "zh_Hant": "yue", "en": "en"}


class Speaker:
    """Says each new prompt once; a newer prompt interrupts the one still speaking. Never blocks the UI."""

    def __init__(self, enabled: bool, command: str = "espeak-ng") -> None:
        self.path = shutil.which(command) if enabled else None
        if enabled and self.path is None:
            log.warning("spoken prompts are on but %r was not found; continuing without speech", command)
        self.last = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-speech") if self.path else None

    @property
    def active(self) -> bool:
        return self.path is not None

    def say(self, text: str, language: str) -> None:
        if self._pool is None or not text or text == self.last:
            return
        self.last = text
        self._pool.submit(self._speak, text, VOICES.get(language, "en"))

    def _speak(self, text: str, voice: str) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
        assert self.path is not None
        self.proc = subprocess.Popen([self.path, "-v", voice, text], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def finish(self, timeout: float = 10.0) -> None:
        """Let the prompts already asked for be spoken to the end (e.g. a goodbye before exiting)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-speech")
        if self.proc is not None:
            self.proc.wait(timeout)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
