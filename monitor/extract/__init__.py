"""Stage 3: an article page into clean text and metadata."""

from monitor.extract.article import extract_page
from monitor.extract.pool import WorkerPool

__all__ = ["WorkerPool", "extract_page"]
