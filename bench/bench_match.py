"""Benchmark the rule matcher on real article pages with generated rule sets.

Usage: PYTHONPATH=. python bench/bench_match.py [--quick]

Loads the article corpus (``MONITOR_CORPUS_DIR``: the shared corpus or its articles/,
default ``../shared/corpus/articles`` next to the repository), takes the gold text of a
page where the corpus has one and extracts the others with trafilatura once, then
compiles 10, 100, 1,000 and 10,000 generated rules and reports the matching speed in CPU
time of one core. Caches (lemmas, folded words) are warmed first: the figures are the
steady state of a running service.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
import time
from pathlib import Path

from monitor.match import Document, RuleSet, RuleSpec, compile_rules

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "articles"
RULE_COUNTS = (10, 100, 1_000, 10_000)
SEED = 20240611

# --- corpus ---------------------------------------------------------------------------


def corpus_dir() -> Path | None:
    """The article corpus directory, or None when it is not there. ``MONITOR_CORPUS_DIR``
    may name the shared corpus, as for the tests and bench/run.py, or its articles/."""
    directory = Path(os.environ.get("MONITOR_CORPUS_DIR", DEFAULT_CORPUS))
    for candidate in (directory, directory / "articles"):
        if (candidate / "index.json").is_file():
            return candidate
    return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _fundus_text(data: dict) -> str:
    body = data.get("expected", {}).get("body", {})
    paragraphs = list(body.get("summary", []))
    for section in body.get("sections", []):
        paragraphs += section.get("headline", []) + section.get("paragraphs", [])
    return "\n".join(paragraphs)


def gold_document(directory: Path, record: dict) -> Document | None:
    """The page's gold title and text when the corpus has full-text gold for it."""
    page = directory / record["file"]
    base = page.name.split(".html")[0].removesuffix(".source")
    meta = _read_json(page.with_name(base + ".json"))
    lang = record.get("lang")
    txt = page.with_name(base + ".txt")
    if txt.is_file():
        text = txt.read_text(encoding="utf-8", errors="replace")
        return Document(title=str(meta.get("title", "")), text=text, lang=lang)
    if isinstance(meta.get("articleBody"), str):
        return Document(title="", text=meta["articleBody"], lang=lang)
    if "expected" in meta and "body" in meta["expected"]:
        title = str(meta["expected"].get("title", ""))
        return Document(title=title, text=_fundus_text(meta), lang=lang)
    return None


def extracted_document(directory: Path, record: dict) -> Document | None:
    """Title and text extracted from the HTML page with trafilatura."""
    import trafilatura  # imported here: only needed for pages without gold text

    page = directory / record["file"]
    raw = page.read_bytes()
    if page.suffix == ".gz":
        raw = gzip.decompress(raw)
    result = trafilatura.extract(raw, output_format="json", with_metadata=True)
    if not result:
        return None
    data = json.loads(result)
    text = data.get("raw_text") or data.get("text") or ""
    return Document(title=data.get("title") or "", text=text, lang=record.get("lang"))


def load_corpus(
    directory: Path,
    *,
    extract: bool = True,
    languages: tuple[str, ...] = (),
    limit: int | None = None,
) -> list[Document]:
    """Documents of the corpus: gold text where present, else trafilatura's (if ``extract``)."""
    records = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    documents: list[Document] = []
    for record in records:
        if limit is not None and len(documents) >= limit:
            break
        if languages and record.get("lang") not in languages:
            continue
        doc = gold_document(directory, record)
        if doc is None and extract:
            doc = extracted_document(directory, record)
        if doc is not None and doc.text.strip():
            documents.append(doc)
    return documents


# --- rules ----------------------------------------------------------------------------


def words(text: str) -> list[str]:
    return text.split()


FRENCH_WORDS = words("""
ministère ministre gouvernement administration État préfecture collectivité région
département commune mairie hôpital santé école université éducation recherche armée
défense police justice tribunal juge procès loi décret circulaire amendement sénat
député assemblée élection président premier opposition parti syndicat grève réforme
budget impôt dépense dette croissance inflation emploi chômage salaire entreprise
société groupe filiale startup industrie usine marché concurrence prix contrat accord
partenariat alliance fusion rachat investissement milliard million euro dollar banque
assurance bourse action actionnaire client fournisseur prestataire sous-traitant cloud
serveur données hébergement stockage centre réseau internet logiciel licence messagerie
bureautique plateforme application téléphone ordinateur cybersécurité attaque piratage
rançongiciel fuite vulnérabilité sécurité souveraineté souverain numérique informatique
intelligence artificielle algorithme modèle calcul puce semi-conducteur satellite fibre
antenne opérateur abonné européen américain chinois français allemand britannique
étranger national public privé ouvert libre gratuit signer renouveler attribuer choisir
migrer quitter abandonner renoncer interdire suspendre reporter annoncer lancer obtenir
qualifier certifier valider déployer équiper acheter vendre payer financer construire
fermer ouvrir créer développer transférer héberger protéger surveiller contrôler
enquêter condamner accuser
""")

ENGLISH_WORDS = words("""
government minister ministry agency department administration state federal city council
school university hospital health police court judge trial law bill senate congress
election president party union strike reform budget tax spending debt growth inflation
jobs wages company firm group subsidiary startup industry factory market competition
price contract deal agreement partnership merger acquisition investment billion million
bank insurance stock shares investor customer supplier vendor cloud server data hosting
storage network internet software license email platform app phone computer security
attack breach hack ransomware leak vulnerability sovereignty digital technology
artificial intelligence algorithm model chip satellite fiber carrier subscriber european
american chinese french german british foreign national public private open free sign
renew award choose migrate leave abandon ban suspend postpone announce launch obtain
certify approve deploy buy sell pay fund build close open create develop transfer
protect monitor investigate convict accuse war military weather storm game player team
season film music
""")

ENTITIES = words("""
Microsoft Azure Google Amazon AWS Apple Meta Facebook TikTok OpenAI Anthropic Mistral
Nvidia Intel AMD Arm Qualcomm Cisco IBM Oracle Salesforce SAP Palantir Huawei ZTE
Alibaba Tencent Samsung Tesla SpaceX Starlink Netflix Spotify Uber Airbnb Twitter
OVHcloud OVH Scaleway Outscale Numspot S3NS Thales Atos Capgemini Sopra Orange SFR
Bouygues Iliad Dassault Airbus Safran Naval Doctolib Qwant Proton Nextcloud Linagora
Framasoft ANSSI CNIL DINUM Arcep Arcom Bercy Matignon Élysée Quai Inria CNRS INSEE
Bpifrance UGAP Sénat Parlement Commission Bruxelles Washington Pékin Moscou Kiev RGPD
GDPR DMA DSA NIS2 EUCS Gaia-X SecNumCloud ChatGPT Copilot Teams Outlook Windows Android
iPhone Linux LibreOffice Wikipedia Mozilla Firefox Chrome YouTube Instagram WhatsApp
Telegram Signal Zoom Slack Dropbox GitHub GitLab Kubernetes VMware Broadcom
""")

PHRASES = [
    "cloud de confiance",
    "données de santé",
    "appel d'offres",
    "intelligence artificielle",
    "Health Data Hub",
    "Microsoft 365",
    "Office 365",
    "Cloud au centre",
    "Cloud Act",
    "AI Act",
    "Data Act",
    "supply chain",
    "data center",
    "European Commission",
    "Éducation nationale",
    "code source",
    "open source",
    "logiciel libre",
    "cour des comptes",
    "Conseil d'État",
]

LISTS = {
    "us_hyperscalers": [
        "Microsoft",
        "Azure",
        "Office 365",
        "Microsoft 365",
        "AWS",
        "Amazon",
        "Amazon Web Services",
        "Google Cloud",
        '"Teams"',
        "Oracle",
    ],
    "fr_providers": ["OVHcloud", "OVH", "Scaleway", "Outscale", "S3NS", "Numspot", "Cloud Temple"],
    "public_bodies": [
        "ministère",
        "ministre",
        "DINUM",
        "DNUM",
        "préfecture",
        "mairie",
        "collectivité",
        "hôpital",
        "CHU",
        "rectorat",
        "Health Data Hub",
    ],
    "labels": ["SecNumCloud", "HDS", "qualification ANSSI", "EUCS", "cloud de confiance"],
    "counter_fr": [
        "quitter",
        "abandonner",
        "renoncer",
        "interdire",
        "bannir",
        "suspendre",
        "reporter",
        "contester",
        "attaquer en justice",
    ],
    "intent_fr": [
        "viser",
        "prévoir",
        "entendre",
        "ambitionner",
        "candidature",
        "démarche",
        "en cours",
        "jalon",
        "devrait",
        "pourrait",
    ],
    "counter_en": ["leave", "ban", "drop", "suspend", "postpone", "challenge", "plans to"],
}
ANCHOR_LISTS = ["us_hyperscalers", "fr_providers", "public_bodies", "labels"]
COUNTER_LISTS = ["counter_fr", "intent_fr", "counter_en"]
PREFIXES = ["souverain*", "qualifi*", "migr*", "cyber*", "numéri*", "hébergé*", "certif*"]


class RuleGenerator:
    """Random watch-rules mixing every operator, from a fixed seed.

    Like the rules operators write, each one is anchored on something specific (an
    organisation or product name, a named list, a phrase) and refined with common
    words, wildcards, proximity, scopes and scoped negation.
    """

    def __init__(
        self,
        seed: int = SEED,
        words: list[str] | None = None,
        entities: list[str] | None = None,
        phrases: list[str] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.words = words or FRENCH_WORDS + ENGLISH_WORDS
        self.entities = entities or ENTITIES
        self.phrases = phrases or PHRASES

    def n(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def anchor(self) -> str:
        pick = self.rng.random()
        if pick < 0.55:
            return self.rng.choice(self.entities)
        if pick < 0.8:
            return f'"{self.rng.choice(self.phrases)}"'
        return "@" + self.rng.choice(ANCHOR_LISTS)

    def word(self) -> str:
        if self.rng.random() < 0.1:
            return self.rng.choice(PREFIXES)
        return self.rng.choice(self.words)

    def group(self) -> str:
        return "(" + " OR ".join(self.word() for _ in range(self.n(2, 3))) + ")"

    def counter(self) -> str:
        return "@" + self.rng.choice(COUNTER_LISTS) if self.rng.random() < 0.5 else self.group()

    def query(self) -> str:
        a, w, g = self.anchor, self.word, self.group
        templates = [
            lambda: f"{a()} AND {w()}",
            lambda: f"{a()} {w()} NOT {w()}",
            lambda: f"{a()} AND {g()}",
            lambda: f"{a()} AND {a()}",
            lambda: f"{a()} NEAR/{self.n(2, 8)} {w()}",
            lambda: f"{a()} ONEAR/{self.n(2, 6)} {g()}",
            lambda: f"SENTENCE({a()} AND {g()} AND NOT {self.counter()})",
            lambda: f"title:{a()} AND {w()}",
            lambda: f"lead:({a()} OR {a()}) AND {w()}",
            lambda: f"ATLEAST/{self.n(2, 4)}({a()}) AND {w()}",
            lambda: f"({a()} OR {a()}) AND {g()} NOT {self.counter()}",
            lambda: f"SENTENCE({a()} AND {a()} AND NOT {self.counter()}) OR title:{a()}",
        ]
        return self.rng.choice(templates)()

    def rules(self, count: int) -> list[RuleSpec]:
        return [RuleSpec(id=f"r{i}", query=self.query()) for i in range(count)]


def generate_rules(count: int, seed: int = SEED) -> list[RuleSpec]:
    return RuleGenerator(seed).rules(count)


# --- measurement ----------------------------------------------------------------------


def time_matching(ruleset: RuleSet, docs: list[Document], min_seconds: float) -> tuple[float, int]:
    """CPU seconds per article (best round within ``min_seconds``) and matches per round.

    CPU time of this process, not wall time: the figure is the cost on one core, and
    stays meaningful on a machine busy with other work.
    """
    best = float("inf")
    matches = 0
    spent = 0.0
    while spent < min_seconds:
        start = time.process_time()
        matches = sum(len(ruleset.match(doc)) for doc in docs)
        elapsed = time.process_time() - start
        best = min(best, elapsed)
        spent += elapsed
    return best / len(docs), matches


def main(argv: list[str]) -> int:
    directory = corpus_dir()
    if directory is None:
        print("article corpus not found: set MONITOR_CORPUS_DIR to the shared corpus")
        return 0
    start = time.perf_counter()
    docs = load_corpus(directory)
    words = sum(len(d.title.split()) + len(d.text.split()) for d in docs)
    print(f"corpus: {len(docs)} articles, {words / len(docs):.0f} words on average, ", end="")
    print(f"loaded in {time.perf_counter() - start:.1f}s")
    min_seconds = 0.5 if "--quick" in argv else 3.0
    warm = compile_rules(generate_rules(10), LISTS)
    for doc in docs:  # fills the word caches, as a running service has them
        warm.match(doc)
    print(
        f"{'rules':>7} {'compile s':>10} {'articles/s':>11} {'µs/article':>11} {'ratio':>6} matches"
    )
    base = None
    for count in RULE_COUNTS:
        start = time.process_time()
        ruleset = compile_rules(generate_rules(count), LISTS)
        compiled = time.process_time() - start
        per_article, matches = time_matching(ruleset, docs, min_seconds)
        base = base or per_article
        print(
            f"{count:>7} {compiled:>10.2f} {1 / per_article:>11.0f} "
            f"{per_article * 1e6:>11.0f} {per_article / base:>6.2f} {matches}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
