"""An article's work that needs nothing but the article, its source and the rules, done
in the worker pool while the pass is still reading: its fingerprint, the rules that fire
on it and its vocabulary. The main process is then left with story decisions and writes.

The compiled rules never travel, nor their recipe with every task (tens of kilobytes
pickled): a task carries the key of the rule set it matches with, a hash of its recipe.
A worker compiles the recipe the first time it meets a key and keeps the result; a task
whose key the worker does not know fails with `RulesMissing` and is sent again with the
recipe (`prepare_in`). So a reloaded configuration (SIGHUP) reaches every worker with its
first task, and so does a worker started in place of one killed past its deadline.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, replace

from monitor.cluster import Fingerprint, fingerprint
from monitor.extract.article import detect_language
from monitor.extract.pool import WorkerPool
from monitor.match import Document, RuleMatch, RuleSet, vocabulary
from monitor.match.compiler import RuleRecipe

# Rule sets a worker keeps: the current one, and the one before a reload, whose
# articles may still be in flight.
KEPT_RULESETS = 2


@dataclass(frozen=True)
class Rules:
    """A rule set as the workers know it: by its key, compiled from its recipe."""

    key: str
    recipe: RuleRecipe

    @classmethod
    def of(cls, ruleset: RuleSet) -> Rules:
        recipe = ruleset.recipe
        return cls(hashlib.sha256(pickle.dumps(recipe)).hexdigest(), recipe)


@dataclass(frozen=True)
class Prepared:
    """What the pool sends back for one article."""

    print_: Fingerprint
    matches: list[RuleMatch]
    vocabulary: bytes  # encoded (`monitor.match.vocabulary`), stored for backtests
    lang: str | None  # the document's, else the one its text tells (or None)


class RulesMissing(Exception):
    """The worker has not compiled the rule set of this key yet: send its recipe."""


# In each worker: rule sets by key, the most recently compiled last.
_compiled: dict[str, RuleSet] = {}


def _ruleset(key: str, recipe: RuleRecipe | None) -> RuleSet:
    ruleset = _compiled.get(key)
    if ruleset is not None:
        return ruleset
    if recipe is None:
        raise RulesMissing(key)
    while len(_compiled) >= KEPT_RULESETS:
        del _compiled[next(iter(_compiled))]
    ruleset = _compiled[key] = recipe.compile()
    return ruleset


def match_document(ruleset: RuleSet, document: Document) -> tuple[list[RuleMatch], bytes]:
    """The rules that fire on `document`, and its encoded vocabulary (stored for
    backtests: the words were looked up to match it, so it costs little more)."""
    analysis = ruleset.analysis_of(document)
    words = vocabulary.encode(vocabulary.vocabulary_of(analysis))
    return ruleset.match(document, analysis), words


def prepare_article(key: str, recipe: RuleRecipe | None, document: Document) -> Prepared:
    """The pool's task: `document` fingerprinted and matched with the rule set of `key`
    (compiled from `recipe` when this worker has not met it; `RulesMissing` when it has
    not and `recipe` is None)."""
    ruleset = _ruleset(key, recipe)
    if document.lang is None:  # a summary, or a page that did not say: its text tells
        document = replace(document, lang=detect_language(document.text))
    # Shingling and MinHash cost milliseconds of CPU, matching tens on a long text.
    print_ = fingerprint(document.title, document.text, document.lang)
    matches, words = match_document(ruleset, document)
    return Prepared(print_, matches, words, document.lang)


async def prepare_in(pool: WorkerPool, rules: Rules, document: Document) -> Prepared:
    """`document` prepared in `pool` with `rules`, whose recipe goes along only to a
    worker that asks for it."""
    try:
        return await pool.run(prepare_article, rules.key, None, document)
    except RulesMissing:
        return await pool.run(prepare_article, rules.key, rules.recipe, document)
