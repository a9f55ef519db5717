"""NER evaluation on hand-made gold/prediction pairs: chunk scores, IOB1 gold, confusion, error report."""

from __future__ import annotations

import pytest

from pipeline.evaluation.ner import confusion, entity_scores, error_report

TOKENS = [["John", "Smith", "met", "Anna", "in", "Paris"], ["Acme", "Corp", "rose"]]
GOLD = [["B-PER", "I-PER", "O", "B-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]


def test_perfect_prediction_scores_100():
    scores = entity_scores(GOLD, GOLD)
    assert (scores["precision"], scores["recall"], scores["f1"], scores["token_accuracy"]) == (100, 100, 100, 100)
    assert scores["per_type"]["PER"]["support"] == 2


def test_missed_wrong_type_and_boundary_errors_count_as_conlleval_does():
    pred = [["B-PER", "O", "O", "B-PER", "O", "B-ORG"], ["B-ORG", "I-ORG", "O"]]  # Smith cut off, Paris as ORG
    scores = entity_scores(GOLD, pred)
    assert scores["precision"] == pytest.approx(100 * 2 / 4)  # correct: Anna, Acme Corp
    assert scores["recall"] == pytest.approx(100 * 2 / 4)
    assert scores["f1"] == pytest.approx(50.0)
    assert scores["token_accuracy"] == pytest.approx(100 * 7 / 9)
    assert scores["per_type"]["LOC"]["recall"] == 0.0
    assert scores["per_type"]["PER"]["precision"] == pytest.approx(50.0)


def test_iob1_gold_is_scored_on_chunks():
    iob1 = [["I-PER", "I-PER", "O", "I-PER", "O", "I-LOC"], ["I-ORG", "I-ORG", "O"]]
    assert entity_scores(iob1, GOLD, gold_scheme="iob1")["f1"] == 100.0
    # IOB1 B- splits two adjacent entities of one type: two chunks, not one
    adjacent = [["I-PER", "B-PER"]]
    assert entity_scores(adjacent, [["B-PER", "B-PER"]], gold_scheme="iob1")["f1"] == 100.0
    assert entity_scores(adjacent, [["B-PER", "I-PER"]], gold_scheme="iob1")["f1"] == 0.0


def test_bioes_predictions_are_scored_like_iob2():
    bioes = [["B-PER", "E-PER", "O", "S-PER", "O", "S-LOC"], ["B-ORG", "E-ORG", "O"]]
    assert entity_scores(GOLD, bioes, pred_scheme="bioes")["f1"] == 100.0


def test_no_entities_at_all_scores_zero_without_dividing_by_zero():
    scores = entity_scores([["O", "O"]], [["O", "O"]])
    assert scores["f1"] == 0.0 and scores["per_type"] == {}


def test_confusion_counts_types_on_exact_spans():
    pred = [["B-PER", "O", "O", "B-PER", "O", "B-ORG"], ["B-ORG", "I-ORG", "O"]]
    table = confusion(GOLD, pred)
    assert table["LOC"]["ORG"] == 1  # Paris typed as ORG
    assert table["PER"]["PER"] == 1 and table["PER"]["O"] == 1  # Anna right; John Smith missed …
    assert table["O"]["PER"] == 1  # … because "John" alone is spurious
    assert table["ORG"]["ORG"] == 1


def test_error_report_shows_only_differing_sentences_side_by_side():
    pred = [GOLD[0], ["O", "O", "O"]]
    page = error_report(TOKENS, GOLD, pred)
    assert "1 of 2 sentences differ" in page
    assert "Acme Corp" in page and "Paris" not in page
    assert "gold (sentence 1)" in page and "predicted (sentence 1)" in page
    assert page.count("<td") == 2


def test_misaligned_inputs_are_rejected():
    with pytest.raises(ValueError, match="sentence 1"):
        entity_scores(GOLD, [GOLD[0], ["O"]])
    with pytest.raises(ValueError, match="2 gold sentences"):
        confusion(GOLD, GOLD[:1])
