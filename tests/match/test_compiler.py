"""The compiled matcher (automaton, trigger index) agrees with naive evaluation."""

import importlib.util
import random
from collections import Counter
from pathlib import Path

import pytest

from monitor.match import Document, RuleSpec, compile_rules, parse_query
from monitor.match.analysis import Analysis
from monitor.match.normalize import fold, raw_tokens
from monitor.match.triggers import required_groups, required_terms

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_match.py"
DOCS_PER_LANGUAGE = 25
TEXT_LIMIT = 3000
RULE_COUNT = 400


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_match", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = load_bench()


@pytest.fixture(scope="module")
def corpus() -> list[Document]:
    directory = bench.corpus_dir()
    if directory is None:
        pytest.skip("article corpus not found (set MONITOR_CORPUS_DIR)")
    french = bench.load_corpus(directory, languages=("fr",), limit=DOCS_PER_LANGUAGE)
    english = bench.load_corpus(
        directory, extract=False, languages=("en",), limit=DOCS_PER_LANGUAGE
    )
    # Shortened texts keep the naive matcher fast; agreement does not depend on length.
    return [Document(d.title, d.text[:TEXT_LIMIT], lang=d.lang) for d in french + english]


def corpus_rules(docs: list[Document]) -> list[RuleSpec]:
    """Generated rules over the corpus's own words, so that many of them fire."""
    rng = random.Random(7)
    counts = Counter(w for d in docs for w in raw_tokens(d.text) if len(w) > 3 and w.isalpha())
    common = [w for w, _ in counts.most_common(400)]
    names = [w for w in common if w[0].isupper()] or common
    phrases = []
    for doc in rng.sample(docs, 20):
        words = raw_tokens(doc.text)
        start = rng.randrange(max(1, len(words) - 2))
        phrases.append(" ".join(words[start : start + 2]))
    generator = bench.RuleGenerator(seed=11, words=common, entities=names, phrases=phrases)
    return generator.rules(RULE_COUNT)


def test_compiled_matcher_agrees_with_naive_evaluation(corpus):
    rules = corpus_rules(corpus)
    ruleset = compile_rules(rules, bench.LISTS)
    fired: Counter[str] = Counter()
    for doc in corpus:
        fast = [m.to_dict() for m in ruleset.match(doc)]
        naive = [m.to_dict() for m in ruleset.match_naive(doc)]
        assert fast == naive, doc.title
        fired.update(m["rule_id"] for m in fast)
    queries = {rule.id: rule.query for rule in rules}
    # The comparison means something only if rules of every kind actually fired.
    for operator in ("SENTENCE(", "NEAR/", "ONEAR/", "ATLEAST/", "title:", "lead:", "NOT", "@"):
        assert any(operator in queries[rule_id] for rule_id in fired), operator
    assert sum(fired.values()) > 100


def test_token_offsets_point_at_the_tokens(corpus):
    for doc in corpus:
        analysis = Analysis(doc)
        for sentence in analysis.sentences:
            text = analysis.sentence_text(sentence.index)
            chars = analysis.token_chars(sentence.index)
            words = [fold(text[start:end]) for start, end in chars]
            assert words == analysis.surfaces[sentence.tok_start : sentence.tok_end]


def test_naive_and_compiled_agree_on_handwritten_edge_cases():
    rules = [
        RuleSpec("phrase-prefix", '"Office 3*" OR "cloud de conf*"'),
        RuleSpec("repeated", '"a b a" NEAR/0 c'),
        RuleSpec("title-near", "title:(Microsoft NEAR/2 Azure)"),
        RuleSpec("lemma-exact", 'signer AND "signe"'),
    ]
    ruleset = compile_rules(rules, {})
    doc = Document(
        title="Microsoft et Azure",
        text="Office 365 et cloud de confiance. A b a b a c. Il signe.",
    )
    fast = [m.to_dict() for m in ruleset.match(doc)]
    assert fast == [m.to_dict() for m in ruleset.match_naive(doc)]
    assert [m["rule_id"] for m in fast] == [
        "phrase-prefix",
        "repeated",
        "title-near",
        "lemma-exact",
    ]


@pytest.mark.parametrize(
    ("query", "required"),
    [
        ("Microsoft", {"=microsoft"}),
        ('Microsoft OR "Office 365"', {"=microsoft", "=office 365"}),
        # AND keeps its rarest-looking group: a phrase over a word, a name over a word.
        ('contrat AND "Office 365"', {"=office 365"}),
        ("contrat AND Azure", {"=azure"}),
        ("le AND contrat", {"~contrat"}),
        ("qualifi* NOT Azure", {"=qualifi*"}),
        ("SENTENCE(Azure AND NOT contrat) lang:fr", {"=azure"}),
        ("(Azure OR contrat) NEAR/3 Google", {"=google"}),
    ],
)
def test_required_terms(query, required):
    assert required_terms(parse_query(query, {})) == required


def test_required_groups_list_every_and_branch():
    root = parse_query('Azure AND (contrat OR accord) AND NOT quitter AND "cloud de confiance"', {})
    groups = [keys for keys, _ in required_groups(root)]
    assert groups == [{"=azure"}, {"~contrat", "~accord"}, {"=cloud de confiance"}]


def test_rules_are_only_evaluated_when_all_their_groups_occur():
    ruleset = compile_rules([RuleSpec("r", "Azure contrat")], {})
    _, occurrences = ruleset.analyse(Document(title="", text="Azure seul."))
    assert ruleset._candidates(occurrences) == []
    _, occurrences = ruleset.analyse(Document(title="", text="Azure et un contrat."))
    assert ruleset._candidates(occurrences) == [0]


def test_edge_documents_and_empty_rule_set():
    assert compile_rules([], {}).match(Document(title="Microsoft", text="Microsoft")) == []
    ruleset = compile_rules([RuleSpec("r", "Microsoft")], {})
    assert ruleset.match(Document(title="", text="")) == []
    assert ruleset.match(Document(title="微软", text="マイクロソフト。Microsoft。")) != []
    (match,) = ruleset.match(Document(title="", text="Le contrat Micro\u00adsoft est signé."))
    assert match.passages[0].marks == ((11, 21),)
    assert match.passages[0].segments()[1] == ("Micro\u00adsoft", True)
