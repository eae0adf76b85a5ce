"""Stage 3: an article page into clean text and metadata (`monitor.extract.article`),
in a pool of worker processes.

Only the pool is imported with the package: `monitor run` starts its workers before it
imports the extractor and the matcher, so that their start-up overlaps its own."""

from monitor.extract.pool import WorkerPool

__all__ = ["WorkerPool"]
