"""Story clustering: one alert per story, however many outlets reprint it.

Pure functions and an in-memory index, no I/O. The pipeline fingerprints
each article, asks a ``StoryIndex`` holding the recent window which story it
belongs to, then adds it::

    fp = fingerprint(title, text, lang="fr")
    decision = index.decide(fp, published, source_id)
    story_id = decision.story_id or store.new_story()
    index.add(StoryCandidate(story_id, article_id, fp, published, source_id))

Fingerprints serialize with ``to_bytes``/``from_bytes`` so the index can be
rebuilt at start-up without re-reading article text.
"""

from monitor.cluster.canonical import canonical_url
from monitor.cluster.fingerprint import Fingerprint, fingerprint
from monitor.cluster.index import StoryCandidate, StoryDecision, StoryIndex
from monitor.cluster.similarity import Thresholds

__all__ = [
    "Fingerprint",
    "StoryCandidate",
    "StoryDecision",
    "StoryIndex",
    "Thresholds",
    "canonical_url",
    "fingerprint",
]
