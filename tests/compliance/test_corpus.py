"""Precision and recall of every rule over the labelled corpus.

`corpus.jsonl` is the development corpus; `holdout.jsonl` holds messages from other businesses and
other phrasings, kept apart to estimate how the rules do on text they were not tuned on. Each line:
`text`, `kind` (null: analyse only), `sender_names`, `forbidden_words`, and the set of `rules` the
message breaks.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from payamak.compliance import RULES, check

HERE = Path(__file__).parent
FILES = ("corpus.jsonl", "holdout.jsonl")
THRESHOLD = 0.99


def load(name: str) -> list[dict[str, Any]]:
    with (HERE / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def scores(cases: list[dict[str, Any]]) -> tuple[dict[str, tuple[float, float, int]], list[str]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    wrong: list[str] = []
    for case in cases:
        got = {
            v.rule
            for v in check(
                case["text"],
                kind=case["kind"],
                sender_names=case["sender_names"],
                forbidden_words=case["forbidden_words"],
            )
        }
        expected = set(case["rules"])
        for rule in RULES:
            if rule in got and rule in expected:
                tp[rule] += 1
            elif rule in got:
                fp[rule] += 1
            elif rule in expected:
                fn[rule] += 1
        if got != expected:
            wrong.append(f"{case['text']!r}: expected {sorted(expected)}, got {sorted(got)}")
    table = {}
    for rule in RULES:
        precision = tp[rule] / (tp[rule] + fp[rule]) if tp[rule] + fp[rule] else 1.0
        recall = tp[rule] / (tp[rule] + fn[rule]) if tp[rule] + fn[rule] else 1.0
        table[rule] = (precision, recall, tp[rule] + fn[rule])
    return table, wrong


def test_corpus_is_large_and_covers_every_rule() -> None:
    cases = [c for name in FILES for c in load(name)]
    assert len(cases) >= 300
    positives = Counter(rule for c in cases for rule in c["rules"])
    for rule in RULES:
        assert positives[rule] >= 10, rule
    assert sum(1 for c in cases if not c["rules"]) >= 150, "clean messages (traps) are half the point"
    assert len({c["text"] for c in cases}) >= 0.95 * len(cases)


@pytest.mark.parametrize("name", [*FILES, "all"])
def test_precision_and_recall_per_rule(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [c for f in FILES for c in load(f)] if name == "all" else load(name)
    table, wrong = scores(cases)
    lines = [
        f"\n{name}: {len(cases)} messages",
        f"{'rule':22} {'precision':>9} {'recall':>7} {'positives':>9}",
    ]
    lines += [f"{rule:22} {p:9.3f} {r:7.3f} {n:9}" for rule, (p, r, n) in table.items()]
    with capsys.disabled():
        print("\n".join(lines))
    failing = {rule: pr for rule, (*pr, _) in table.items() if min(pr) < THRESHOLD}
    assert not failing, f"below {THRESHOLD}: {failing}\n" + "\n".join(wrong)
