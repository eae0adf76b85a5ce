"""Stage 4: persistence. The only package that imports SQLAlchemy.

`Store` (monitor.store.facade) is a thin facade: each method runs one function of the
modules below in its own transaction, and returns plain records (`monitor.store.views`).

The package itself imports no SQLAlchemy: its records, and `SqliteReads`, which reads
what `monitor sources`, `alerts` and `feedback export` list with the standard library's
sqlite3, come without it (0.4 s of those commands' start-up). `Store`, `upgrade` and
the others that need it are imported when first asked for.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from monitor.store.views import (
    AlertView,
    ArticleView,
    ArticleWrite,
    DeliveryRecord,
    DigestEntry,
    DigestRun,
    FailedDelivery,
    FailingSource,
    FeedbackRecord,
    HealthWrite,
    KnownArticle,
    PendingDelivery,
    PruneResult,
    RuleHit,
    SourceClaim,
    SourceState,
    StoredArticle,
    StoredVocabulary,
    StoryArticle,
    StoryView,
    WriteOutcome,
)

if TYPE_CHECKING:
    from monitor.store.db import display_url
    from monitor.store.facade import ArticleBatch, Store
    from monitor.store.migrate import upgrade, upgrade_async

__all__ = [
    "AlertView",
    "ArticleBatch",
    "ArticleView",
    "ArticleWrite",
    "DeliveryRecord",
    "DigestEntry",
    "DigestRun",
    "FailedDelivery",
    "FailingSource",
    "FeedbackRecord",
    "HealthWrite",
    "KnownArticle",
    "PendingDelivery",
    "PruneResult",
    "RuleHit",
    "SourceClaim",
    "SourceState",
    "Store",
    "StoredArticle",
    "StoredVocabulary",
    "StoryArticle",
    "StoryView",
    "WriteOutcome",
    "display_url",
    "upgrade",
    "upgrade_async",
]

# The names that need SQLAlchemy, and the module of this package that holds each.
_WITH_SQLALCHEMY = {
    "ArticleBatch": "facade",
    "Store": "facade",
    "display_url": "db",
    "upgrade": "migrate",
    "upgrade_async": "migrate",
}


def __getattr__(name: str) -> object:
    """`Store` and the others of `_WITH_SQLALCHEMY`, imported on first use (PEP 562)."""
    if name not in _WITH_SQLALCHEMY:
        # Also how `from monitor.store import articles` finds a submodule not imported yet.
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WITH_SQLALCHEMY[name]}"), name)
