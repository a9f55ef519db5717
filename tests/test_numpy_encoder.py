"""The tagger's numpy inference path: torch's emissions on every architecture, its tags on a trained model."""

from __future__ import annotations

import pytest
import torch
from test_ner_model import SENTENCES, assets, tagger
from test_onnx_encoder import ARCHITECTURES

from pipeline.data.conll import read_conll
from pipeline.errors import ConfigError
from pipeline.models import numpy_rnn
from pipeline.models.numpy_encoder import NumpyEncoder
from pipeline.models.tagger import encode_batch
from pipeline.predict.ner import NerPredictor

pytestmark = pytest.mark.usefixtures("one_thread")
DOCS = [0, 0, 1]


def torch_emissions(model) -> torch.Tensor:
    """(N,K) emissions of the real tokens of SENTENCES, from torch's forward pass."""
    batch = encode_batch(SENTENCES, assets(), docs=DOCS)
    with torch.inference_mode():
        return model.emissions(batch)[batch.mask]


@pytest.mark.parametrize("overrides", [*ARCHITECTURES, {"char_encoder": "lstm", "decoder": "softmax"}],
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_numpy_scores_are_torch_emissions(overrides):
    model = tagger(**overrides).eval()
    scores, lengths = NumpyEncoder(model, assets()).scores(SENTENCES, DOCS)
    assert lengths.tolist() == [len(s) for s in SENTENCES]
    torch.testing.assert_close(torch.from_numpy(scores), torch_emissions(model), rtol=1e-5, atol=1e-5)


def test_a_full_memo_starts_over_and_scores_alike(monkeypatch):
    model = tagger().eval()
    encoder = NumpyEncoder(model, assets())
    expected, _ = encoder.scores(SENTENCES, DOCS)
    monkeypatch.setattr(numpy_rnn, "MEMO_INPUTS", 4)  # fewer than the sentences' distinct tokens
    again, _ = encoder.scores(SENTENCES[::-1], DOCS[::-1])
    assert len(encoder.memo.index) == len({t for s in SENTENCES for t in s})  # emptied, then filled by this batch alone
    torch.testing.assert_close(torch.from_numpy(again), torch.from_numpy(expected[[8, 6, 7, 0, 1, 2, 3, 4, 5]]))


def test_numpy_engine_tags_the_sample_as_torch(ner_model, sample_root):
    sentences = [s.words for s in read_conll(sample_root / "conll2003" / "eng.testb.gz", "iob1", "iob2") if s.words]
    expected = NerPredictor.load(ner_model, engine="torch").predict_spans(sentences)
    assert any(expected), "the model tags nothing: the comparison would be empty"
    assert NerPredictor.load(ner_model, engine="numpy").predict_spans(sentences) == expected
    assert NerPredictor.load(ner_model).predict_spans(sentences) == expected  # auto: numpy batches, ONNX single ones
    single = NerPredictor.load(ner_model, engine="numpy")
    assert [single.predict_spans([s])[0] for s in sentences[:20]] == expected[:20]


def test_numpy_refuses_int8():
    with pytest.raises(ConfigError, match="int8 runs on ONNX Runtime"):
        tagger().use_engine("numpy", "int8")
