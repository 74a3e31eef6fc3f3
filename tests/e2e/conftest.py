"""The property test writes nothing outside the temporary directory: hypothesis keeps its working files
(the example database is off; its cache of the source's constants is not) under the system's temp dir
unless ``HYPOTHESIS_STORAGE_DIRECTORY`` says otherwise."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "qbb24-hypothesis"))
