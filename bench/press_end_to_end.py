"""The headline rules scored end to end on labeled real-press files, as a judge scores them.

    python bench/press_end_to_end.py [--rule ID ...] [--news] [--untitled cut|line|none]
        [--template article|bare|noisy] [--summary none|lead|full] [--errors]
        [--keep FILE.sqlite] FILE.jsonl ...

Each labeled article becomes a news page on a loopback server (its title in ``<title>``
and ``<h1>``, its paragraphs in ``<article>``, its date in ``article:published_time``
when it has one), listed in its outlet's RSS feed. One `monitor run --once --no-send`
with the shipped rules fetches, extracts and matches them all on a fresh SQLite
database. The script then prints, per rule:

- precision, recall and counts of what the pipeline fired (borderline labels count
  either way, as in `monitor rules eval`), and with ``--errors`` each false alert and
  each miss;
- every article where the pipeline and `monitor rules eval` (on the same headline and
  text) disagree: what fetching and extraction changed;
- the multi-outlet stories: each positive story that raised no alert or more than one
  (with ``--errors``, the story each of its articles went to), and each story that is
  no event but raised an alert; a story whose positives are all borderline counts
  apart, either way, unless it split.

An excerpt labeled without a title (``"title": ""``) has no headline of its own; how its
page shows one is ``--untitled``: ``cut`` (default) its first line cut to 120
characters, ``line`` its whole first line, ``none`` no title at all.

``--template`` lays the page out otherwise: ``bare`` (no ``<article>``, the paragraphs in a
``<div>``) or ``noisy`` (a menu, a cookie banner, a share bar, headlines of other articles
that name the watched actors, comments and a footer around the article). ``--summary``
gives each feed item a description: the article's first paragraph (``lead``) or its whole
text (``full``).

``--news`` places each multi-outlet story and each positive article on a day of its
own, 31 days apart, its articles within an hour, as news is published (the labeled dates
are often missing or month-only, and undated pages all take the day they are read); the
other articles are undated. Without it, pages carry the labeled date when there is one.
Those days are not the articles' own: a rule that compares the years a sentence names
with the article's date (`EARLIER_YEAR`) reads history where there is none when a 2017
article is placed in 2024. Score such rules without ``--news`` too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from press_cv import RULES, read_all  # noqa: E402
from run import MONITOR, Web, write_config  # noqa: E402

from monitor.config import Config, load_config  # noqa: E402
from monitor.extract.article import detect_language  # noqa: E402
from monitor.labels import LabeledArticle  # noqa: E402
from monitor.labels.evaluate import evaluate, label_keys  # noqa: E402

# Longer than any shipped rule's event window (ministry-microsoft: 30 days), and ending
# that long before today, when the undated articles are read.
STORY_GAP = timedelta(days=31)
NEWS_LAST = datetime.now(UTC) - 2 * STORY_GAP
CUT_TITLE = 120


def headline(article: LabeledArticle, untitled: str) -> str:
    """The title the article's page shows (see --untitled)."""
    if article.title or untitled == "none":
        return article.title
    first = article.text.split("\n", 1)[0]
    if untitled == "line" or len(first) <= CUT_TITLE:
        return first
    return first[:CUT_TITLE].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True)
class Served:
    article: LabeledArticle
    title: str
    url: str
    published: datetime | None


def page(item: Served, template: str) -> bytes:
    """The article's page in one of the `--template` layouts."""
    title = escape(item.title)
    paragraphs = paragraphs_html(item.article.text)
    dated = (
        f"<meta property='article:published_time' content='{item.published.isoformat()}'>"
        if item.published
        else ""
    )
    head = (
        f"<!doctype html><html lang='{item.article.lang or 'fr'}'><head>"
        f"<meta charset='utf-8'><title>{title}</title>{dated}</head>"
    )
    if template == "bare":
        return f"{head}<body><h1>{title}</h1><div>{paragraphs}</div></body></html>".encode()
    if template == "noisy":
        return (
            f"{head}<body>{NOISE_TOP}<main><div class='post'><h1>{title}</h1>"
            f"<div class='byline'>Par la rédaction</div><div class='content'>{paragraphs}"
            f"</div>{NOISE_INSIDE}</div></main>{NOISE_BOTTOM}</body></html>"
        ).encode()
    return f"{head}<body><article><h1>{title}</h1>{paragraphs}</article></body></html>".encode()


# What news pages carry around an article (--template noisy): a menu, a share bar, other
# headlines that name the watched actors, comments and a footer. None of it is the article.
_OTHER_HEADLINES = [
    "Microsoft 365 : le ministère de l'Intérieur signe un nouvel accord-cadre",
    "SecNumCloud : Bleu obtient la qualification de l'ANSSI",
    "Cloud au centre : la circulaire mise à jour par la Dinum",
    "Health Data Hub : le choix de Microsoft Azure contesté",
]
NOISE_TOP = (
    "<header><nav><ul>"
    + "".join(
        f"<li><a href='/r/{n}'>{w}</a></li>"
        for n, w in enumerate(
            ["Actualités", "Cloud", "Cybersécurité", "Secteur public", "Emploi", "Abonnez-vous"]
        )
    )
    + "</ul></nav><div class='cookie'>Ce site utilise des cookies pour mesurer son audience."
    " <button>Accepter</button></div></header>"
)
NOISE_INSIDE = (
    "<div class='share'>Partager : Twitter LinkedIn Facebook E-mail</div>"
    "<aside class='related'><h2>À lire aussi</h2><ul>"
    + "".join(f"<li><a href='/a/{n}'>{h}</a></li>" for n, h in enumerate(_OTHER_HEADLINES))
    + "</ul></aside><section id='comments'><h2>3 commentaires</h2>"
    "<div class='comment'><p>Encore Microsoft, le ministère n'a rien appris.</p></div>"
    "<div class='comment'><p>Et la souveraineté numérique dans tout ça ?</p></div></section>"
)
NOISE_BOTTOM = (
    "<footer><p>© 2026 La rédaction. Tous droits réservés.</p><ul><li><a href='/m'>Mentions"
    " légales</a></li><li><a href='/c'>Contact</a></li></ul>"
    "<div class='newsletter'>Recevez chaque matin l'actualité du numérique public."
    " <a href='/n'>Inscrivez-vous</a></div></footer>"
)


def rss(items: Sequence[Served], summary: str) -> bytes:
    """An outlet's feed; each item's description is `--summary`: none, the article's
    first paragraph (a teaser), or its whole text as HTML paragraphs."""
    entries = "".join(
        f"<item><title>{escape(s.title)}</title><link>{s.url}</link><guid>{s.url}</guid>"
        + (f"<pubDate>{format_datetime(s.published)}</pubDate>" if s.published else "")
        + description(s, summary)
        + "</item>"
        for s in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"{entries}</channel></rss>"
    ).encode()


def description(item: Served, summary: str) -> str:
    text = item.article.text
    if summary == "none" or not text.strip():
        return ""
    if summary == "lead":
        first = next(p for p in text.split("\n") if p.strip())
        return f"<description>{escape(first)}</description>"
    return f"<description>{escape(paragraphs_html(text))}</description>"


def paragraphs_html(text: str) -> str:
    """The labeled text's paragraphs (one a line) as HTML paragraphs."""
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())


def outlet(article: LabeledArticle) -> str:
    host = urlsplit(article.url or "").hostname or "press"
    return host.removeprefix("www.").replace(".", "-")


def placed(articles: Sequence[LabeledArticle], news: bool) -> dict[str, datetime | None]:
    """Each article's publication time: its labeled date, or (--news) its story's day."""
    if not news:
        return {
            a.id: datetime.combine(a.published, time(12), UTC) if a.published else None
            for a in articles
        }
    # Dates before 1995 or in the future are dropped as implausible: only the stories
    # that matter get a day, going back from NEWS_LAST.
    keys = sorted({a.story or a.id for a in articles if a.story or any(a.labels.values())})
    day = {key: NEWS_LAST - STORY_GAP * n for n, key in enumerate(keys)}
    return {
        a.id: day[key] + timedelta(minutes=sum(map(ord, a.id)) % 60) if key in day else None
        for a in articles
        for key in [a.story or a.id]
    }


def serve(
    server: Web,
    articles: Sequence[LabeledArticle],
    untitled: str,
    news: bool,
    template: str,
    summary: str,
):
    """Every article's page and every outlet's feed on `server`: (served, feeds)."""
    when = placed(articles, news)
    served = [
        Served(a, headline(a, untitled), f"{server.base}/{outlet(a)}/{n}", when[a.id])
        for n, a in enumerate(articles)
    ]
    by_outlet: dict[str, list[Served]] = defaultdict(list)
    for n, item in enumerate(served):
        server.routes[f"/{outlet(item.article)}/{n}"] = (page(item, template), f'"p{n}"')
        by_outlet[outlet(item.article)].append(item)
    feeds = []
    for name, items in sorted(by_outlet.items()):
        server.routes[f"/{name}.xml"] = (rss(items, summary), f'"{name}"')
        feeds.append((name, f"{server.base}/{name}.xml"))
    return served, feeds


@dataclass(frozen=True)
class Outcome:
    fired: set[tuple[str, str]]  # (url, rule) of the event tier
    alerts: list[tuple[str, int]]  # (rule, story)
    stories: dict[str, int]  # url -> story


def run_pipeline(folder: Path, feeds, keep: Path | None) -> Outcome:
    write_config(folder, feeds, extract=True)
    database = folder / "press.sqlite"
    env = dict(os.environ)
    env.update(
        MONITOR_CONFIG_DIR=str(folder),
        MONITOR_DATA_DIR=str(folder / "data"),
        MONITOR_DATABASE_URL=f"sqlite:///{database}",
        MONITOR_LOG_LEVEL="ERROR",
    )
    subprocess.run([*MONITOR, "run", "--once", "--no-send"], env=env, check=False)
    if keep:
        shutil.copy(database, keep)
    with sqlite3.connect(database) as db:
        fired = db.execute(
            "select a.url, m.rule_id from matches m join articles a on a.id = m.article_id"
            " where m.tier = 'event'"
        ).fetchall()
        alerts = db.execute("select rule_id, story_id from alerts").fetchall()
        stories = db.execute("select url, story_id from articles").fetchall()
    return Outcome(set(fired), alerts, dict(stories))


def score_lines(config: Config, rule_id: str, served, outcome: Outcome, errors: bool):
    keys = label_keys(config, rule_id)
    counts = dict.fromkeys(("tp", "fp", "fn", "tn"), 0)
    lines = []
    for item in served:
        expected = item.article.label(*keys)
        if expected is None:
            continue
        hit = (item.url, rule_id) in outcome.fired
        if expected and item.article.borderline:
            counts["tp" if hit else "tn"] += 1
        elif hit:
            counts["tp" if expected else "fp"] += 1
            if errors and not expected:
                lines.append(f"  false alert: {item.article.id}: {item.title[:70]}")
        else:
            counts["fn" if expected else "tn"] += 1
            if errors and expected:
                lines.append(f"  missed: {item.article.id}: {item.title[:70]}")
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = f"{tp / (tp + fp):.2f}" if tp + fp else "n/a"
    recall = f"{tp / (tp + fn):.2f}" if tp + fn else "n/a"
    head = (
        f"{rule_id}: end to end precision {precision} recall {recall}"
        f" (tp {tp}, fp {fp}, fn {fn}, tn {counts['tn']})"
    )
    return [head, *lines]


def story_lines(config: Config, rule_id: str, served, outcome: Outcome, errors: bool):
    keys = label_keys(config, rule_id)
    alerted = {story for rule, story in outcome.alerts if rule == rule_id}
    members: dict[str, list[Served]] = defaultdict(list)
    for item in served:
        if item.article.story:
            members[item.article.story].append(item)
    tally = dict.fromkeys(("one", "more", "none", "false", "borderline"), 0)
    lines = []
    for story, group in sorted(members.items()):
        if len(group) < 2:
            continue
        fired = [i for i in group if (i.url, rule_id) in outcome.fired]
        count = len({outcome.stories.get(i.url) for i in fired} & alerted)
        if not any(i.article.label(*keys) for i in group):
            if count:
                tally["false"] += 1
                lines.append(f"  story {story}: {count} alerts for a story that is no event")
            continue
        if count <= 1 and all(i.article.borderline for i in group if i.article.label(*keys)):
            tally["borderline"] += 1  # its positives count either way: so does the story
            continue
        tally["one" if count == 1 else "more" if count > 1 else "none"] += 1
        if count != 1:
            lines.append(f"  story {story}: {count} alerts for a positive story")
            for item in group if errors else ():
                hit = ", fired" if item in fired else ""
                lines.append(f"    {item.article.id}: story {outcome.stories.get(item.url)}{hit}")
    lines.append(
        f"  multi-outlet stories: {tally['one']} positive with one alert, {tally['more']} with"
        f" more, {tally['none']} with none; {tally['false']} negative with an alert;"
        f" {tally['borderline']} borderline with at most one (either way)"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--rule", action="append", help="only these rules")
    parser.add_argument("--news", action="store_true", help="one day per story")
    parser.add_argument("--untitled", choices=["cut", "line", "none"], default="cut")
    parser.add_argument("--template", choices=["article", "bare", "noisy"], default="article")
    parser.add_argument("--summary", choices=["none", "lead", "full"], default="none")
    parser.add_argument("--errors", action="store_true", help="list false alerts and misses")
    parser.add_argument("--keep", type=Path, help="copy the pass's database here")
    args = parser.parse_args()
    config = load_config(REPO, {})
    articles = read_all(args.files)
    rules = args.rule or RULES
    served, feeds = serve(Web(), articles, args.untitled, args.news, args.template, args.summary)
    with tempfile.TemporaryDirectory(prefix="press-e2e-") as tmp:
        outcome = run_pipeline(Path(tmp), feeds, args.keep)
    as_served = [replace(s.article, title=s.title) for s in served]
    for score in evaluate(config, as_served, rules, detect_language):
        predicted = {c.article.id for c in score.cases if c.verdict.fired}
        print("\n".join(score_lines(config, score.rule_id, served, outcome, args.errors)))
        for item in served:
            hit = (item.url, score.rule_id) in outcome.fired
            if hit != (item.article.id in predicted):
                said = "fired end to end only" if hit else "fired in rules eval only"
                print(f"  differs from rules eval: {item.article.id}: {said}")
        print("\n".join(story_lines(config, score.rule_id, served, outcome, args.errors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
