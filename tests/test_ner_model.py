"""The tagger module: CRF decoding, embedding modes, save/load, edge-case sentences."""

from __future__ import annotations

import itertools

import pytest
import torch

from pipeline.data.tags import spans_from_tags
from pipeline.embeddings.vocab import Vocab
from pipeline.errors import DataError
from pipeline.model_dir import save_weights
from pipeline.models.crf import constrained_crf, marginals, viterbi
from pipeline.models.tagger import Tagger, TaggerAssets, TaggerConfig, encode_batch, load_tagger
from pipeline.predict.ner import NerPredictor

TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
SENTENCES = [["John", "Smith", "lives", "in", "Paris", "."], ["Berlin", "!"], ["Mary"]]


pytestmark = pytest.mark.usefixtures("one_thread")

def assets(trainable: int = 6) -> TaggerAssets:
    vocab = Vocab(["<pad>", "<unk>", "john", "smith", "lives", "in", "paris", "berlin"])
    chars = ["<pad>", "<unk>", *sorted(set("JohnSmithlivesParisBerlin.!"))]
    return TaggerAssets(vocab, chars, TAGS, "bioes", trainable)


def tagger(**overrides) -> Tagger:
    torch.manual_seed(0)
    return Tagger(TaggerConfig(word_dim=8, casing_dim=3, char_dim=5, char_size=6, hidden_size=7, **overrides), assets())


def path_score(crf, emissions: torch.Tensor, path: tuple[int, ...]) -> float:
    """Unnormalised CRF score of one tag path (emissions (T,K))."""
    score = crf.start_transitions[path[0]] + crf.end_transitions[path[-1]]
    score = score + sum(emissions[t, k] for t, k in enumerate(path))
    return float(score + sum(crf.transitions[a, b] for a, b in zip(path, path[1:])))


def random_crf(length: int, seed: int):
    """A BIOES CRF with random transitions, and a batch of two rows: ``length`` tokens plus padding, ``length + 1``."""
    torch.manual_seed(seed)
    tags = ["O", "B-X", "I-X", "E-X", "S-X"]
    crf = constrained_crf(tags, "bioes")
    with torch.no_grad():
        crf.transitions.add_(torch.randn_like(crf.transitions))
    emissions = torch.randn(2, length + 1, len(tags))
    mask = torch.tensor([[True] * length + [False], [True] * (length + 1)])
    return tags, crf, emissions, mask


@pytest.mark.parametrize("length", [1, 2, 3, 4])
def test_crf_viterbi_equals_brute_force(length):
    """Both pytorch-crf's decoder and the project's vectorised one find the best of all paths."""
    tags, crf, emissions, mask = random_crf(length, seed=length)
    with torch.no_grad():
        decoded = [crf.decode(emissions, mask=mask), viterbi(crf, emissions, mask)]
    for i, n in enumerate([length, length + 1]):
        with torch.no_grad():
            best = max(itertools.product(range(len(tags)), repeat=n), key=lambda p: path_score(crf, emissions[i], p))
        assert [tuple(paths[i]) for paths in decoded] == [best, best]
        spans_from_tags([tags[k] for k in best], "bioes", invalid="reject")  # constraints make it valid


def test_vectorised_viterbi_matches_pytorch_crf_on_ragged_batches():
    """Many rows of different lengths (1..12) in one batch: the backtrace must stop at each row's own end."""
    torch.manual_seed(3)
    crf = constrained_crf(TAGS, "bioes")
    with torch.no_grad():
        crf.transitions.add_(torch.randn_like(crf.transitions))
        lengths = torch.randint(1, 13, (40,))
        mask = torch.arange(12)[None, :] < lengths[:, None]
        emissions = torch.randn(40, 12, len(TAGS))
        assert viterbi(crf, emissions, mask) == crf.decode(emissions, mask=mask)


def test_one_sentence_viterbi_matches_pytorch_crf_and_the_batched_code():
    """A sentence alone takes its own path through viterbi_arrays: the same tags as torchcrf and as in a batch."""
    torch.manual_seed(4)
    crf = constrained_crf(TAGS, "bioes")
    with torch.no_grad():
        crf.transitions.add_(torch.randn_like(crf.transitions))
        emissions = torch.randn(30, 12, len(TAGS))
        lengths = torch.randint(1, 13, (30,))
        mask = torch.arange(12)[None, :] < lengths[:, None]
        batched = viterbi(crf, emissions, mask)
        for i in range(30):
            alone = viterbi(crf, emissions[i : i + 1], mask[i : i + 1])
            assert alone == crf.decode(emissions[i : i + 1], mask=mask[i : i + 1]) == [batched[i]]


def test_encode_batch_spells_each_real_token_once():
    """Characters come as (U,C) rows of the distinct tokens, indexed per real token; words and casing are (B,T)."""
    sentences = [*SENTENCES, ["Paris", "!"]]
    batch = encode_batch(sentences, assets())
    a = assets()
    real = [t for s in sentences for t in s]
    assert batch.chars.shape == (len(set(real)), max(map(len, real)))
    spelled = batch.chars[batch.char_rows].tolist()
    for row, token in zip(spelled, real, strict=True):
        assert row == [a.char_index.get(c, 1) for c in token] + [0] * (batch.chars.shape[1] - len(token))
    assert batch.words[batch.mask].tolist() == a.vocab.encode(real)
    assert batch.words[~batch.mask].eq(0).all() and batch.casing[~batch.mask].eq(0).all()


@pytest.mark.parametrize("length", [1, 2, 3])
def test_crf_marginals_equal_brute_force(length):
    tags, crf, emissions, mask = random_crf(length, seed=10 + length)
    with torch.no_grad():
        probs = marginals(crf, emissions, mask)
        for i, n in enumerate([length, length + 1]):
            paths = list(itertools.product(range(len(tags)), repeat=n))
            weights = torch.softmax(torch.tensor([path_score(crf, emissions[i], p) for p in paths]), dim=0)
            expected = torch.zeros(n, len(tags))
            for path, weight in zip(paths, weights):
                expected[torch.arange(n), list(path)] += weight
            torch.testing.assert_close(probs[i, :n], expected, atol=1e-5, rtol=1e-4)


def test_entity_scores_are_probabilities():
    predictor = NerPredictor(tagger().eval(), assets())
    tags, probs = predictor.predict_scored(SENTENCES)[0]
    assert len(probs) == len(tags) == len(SENTENCES[0]) and all(0.0 < p <= 1.0 for p in probs)
    assert [t for t, _ in predictor.predict_scored(SENTENCES)] == predictor.predict_tokens(SENTENCES)
    for entity in predictor.predict_text("John Smith lives in Paris.")["entities"]:
        assert 0.0 < entity["score"] <= 1.0


def test_frozen_embeddings_stay_put_and_finetuned_ones_move():
    batch = encode_batch(SENTENCES, assets(), [["S-PER", "O", "O", "O", "S-LOC", "O"], ["S-LOC", "O"], ["S-PER"]])
    for mode, should_change in (("frozen", False), ("finetune", True)):
        model = tagger(embedding=mode)
        before = model.words.trained.weight.detach().clone()
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
        model.loss(batch).backward()
        optimizer.step()
        assert (not torch.equal(before, model.words.trained.weight)) == should_change
        assert not model.words.fixed.requires_grad


def test_word_dropout_trains_the_unknown_row_and_is_off_at_inference():
    """With word dropout the <unk> row gets a gradient in training; in eval mode the emissions are unchanged."""
    batch = encode_batch([["John", "Smith", "lives", "in", "Paris"]], assets(), [["B-PER", "E-PER", "O", "O", "S-LOC"]])
    for rate, unk_moves in ((0.0, False), (0.9, True)):
        model = tagger(word_dropout=rate)
        model.loss(batch).backward()
        assert bool(model.words.trained.weight.grad[1].abs().sum() > 0) == unk_moves
    model.eval()
    torch.testing.assert_close(model.emissions(batch), tagger().eval().emissions(batch))


def test_save_load_gives_identical_predictions(tmp_path):
    model = tagger().eval()
    save_weights(tmp_path, model, {"model": model.cfg.model_dump(mode="json")})
    assets().save(tmp_path)
    before = NerPredictor(model, assets()).predict_tokens(SENTENCES)
    loaded = NerPredictor.load(tmp_path)
    assert loaded.predict_tokens(SENTENCES) == before
    reloaded, _ = load_tagger(tmp_path)
    batch = encode_batch(SENTENCES, assets())
    assert torch.equal(reloaded.emissions(batch), model.emissions(batch))


@pytest.mark.parametrize(
    "overrides",
    [{}, {"encoder": "gru"}, {"encoder": "rnn", "layers": 2}, {"char_encoder": "lstm"}, {"char_encoder": "none"},
     {"casing": False, "bidirectional": False}, {"decoder": "softmax"}, {"char_kernel": 2}, {"doc_context": True}],
)
def test_every_variant_tags_edge_case_sentences(overrides):
    predictor = NerPredictor(tagger(**overrides).eval(), assets())
    sentences = [[], ["Paris"], ["Zyxw", "Qqq", "Ü"], *SENTENCES]  # empty, one token, all out of vocabulary
    tags = predictor.predict_tokens(sentences)
    assert [len(t) for t in tags] == [len(s) for s in sentences]
    for row in tags:
        spans_from_tags(row, "iob2", invalid="reject")


def test_document_memory_pools_a_word_within_its_document_only():
    """The memory is the mean state over a word's occurrences in its document, whatever else shares the batch."""
    model = tagger(doc_context=True).eval()
    sentences = [["Paris", "lives", "in"], ["in", "Paris"], ["Paris"]]
    batch = encode_batch(sentences, assets(), docs=[0, 0, 1])
    states = torch.randn(6, 4)  # (N,H): Paris lives in | in Paris | Paris
    memory = model._document_memory(states, batch)
    assert torch.allclose(memory[0], (states[0] + states[4]) / 2)  # Paris, twice in document 0
    assert torch.allclose(memory[4], memory[0])
    assert torch.allclose(memory[2], (states[2] + states[3]) / 2)  # in
    assert torch.allclose(memory[5], states[5])  # document 1's Paris is pooled alone
    assert torch.allclose(memory[1], states[1])


def test_doc_context_predictions_depend_on_the_document_not_the_batch():
    predictor = NerPredictor(tagger(doc_context=True).eval(), assets(), batch_size=2)
    sentences = [["John", "Smith"], ["Smith", "lives", "in", "Paris"], [], ["Smith", "!"], ["Berlin"]]
    docs = [0, 0, 0, 1, 1]
    together = predictor._tag(sentences, scored=True, docs=docs)
    apart = predictor._tag(sentences[:3], scored=True, docs=docs[:3]) + predictor._tag(sentences[3:], scored=True, docs=docs[3:])
    assert together == apart
    alone = predictor._tag(sentences, scored=True, docs=None)  # each sentence its own document
    assert alone[1][1] != together[1][1]  # Smith's memory now holds one occurrence, not two


def test_doc_context_needs_document_ids():
    with pytest.raises(ValueError, match="docs="):
        tagger(doc_context=True).emissions(encode_batch(SENTENCES, assets()))


def test_predict_text_gives_character_offsets():
    text = "John  Smith lives in Paris."
    result = NerPredictor(tagger().eval(), assets()).predict_text(text)
    assert result["tokens"] == ["John", "Smith", "lives", "in", "Paris", "."]
    for entity in result["entities"]:
        assert text[entity["start_char"] : entity["end_char"]] == entity["text"]
    assert NerPredictor(tagger().eval(), assets()).predict_text("") == {"tokens": [], "tags": [], "entities": []}


@pytest.mark.parametrize("bad", ["John Smith", [["John", ""]], [["John", 3]], ["John"]])
def test_bad_input_is_a_clear_error(bad):
    with pytest.raises(DataError, match="token"):
        NerPredictor(tagger().eval(), assets()).predict_tokens(bad)


def test_unknown_training_tag_is_a_clear_error():
    with pytest.raises(DataError, match="B-ORG"):
        encode_batch([["Acme"]], assets(), [["B-ORG"]])


@pytest.mark.parametrize("overrides", [{}, {"doc_context": True}, {"encoder": "gru", "layers": 2}])
def test_a_sentence_alone_scores_as_in_a_padded_batch(overrides):
    """At inference one sentence skips packing (and, with all-distinct words, the memory's pooling): same scores."""
    model = tagger(**overrides).eval()
    sentences = [["Angela", "Merkel", "visited", "Paris", "."], ["Paris"], ["He", "went", "home"]]
    docs = [0, 1, 2] if model.cfg.doc_context else None
    with torch.inference_mode():
        together = model.emissions(encode_batch(sentences, assets(), docs=docs))
        for row, sentence in enumerate(sentences):
            alone = model.emissions(encode_batch([sentence], assets(), docs=[0] if docs else None))
            assert torch.allclose(alone[0], together[row, : len(sentence)], atol=1e-6)
