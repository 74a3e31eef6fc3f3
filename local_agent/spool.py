"""Where an iterator read's pages wait until the last one is in: temporary files, not memory (issue 23).

One file per request of the document (an iterator read of invoices and estimates has two), created in the
agent's own folder (owner-only, like the queue: it holds QuickBooks' records) and deleted when closed — also
when the process dies (the file has no name on POSIX; on Windows ``TemporaryFile`` opens it delete-on-close).
Nothing here needs to survive a crash: a read cut off is run again from its first page.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

READ_BYTES = 256 * 1024


class FileSpool:
    """A :class:`local_agent.soap.iterate.Spool` in temporary files under ``folder``."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._files: dict[int, IO[bytes]] = {}

    def append(self, index: int, text: str) -> None:
        f = self._files.get(index)
        if f is None:
            f = self._files[index] = tempfile.TemporaryFile(dir=self.folder, prefix="pages-")
        f.write(text.encode("utf-8"))

    def read(self, index: int) -> Iterator[str]:
        f = self._files.get(index)
        if f is None:
            return
        f.flush()
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        while block := f.read(READ_BYTES):
            yield decoder.decode(block)
        yield decoder.decode(b"", final=True)
        f.seek(0, 2)  # appending may go on (a read before the last page: tests)

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()
