"""The tagger's ONNX Runtime encoder: the same states as torch's forward pass, int8 close to float, clear errors."""

from __future__ import annotations

import pytest
import torch
from test_ner_model import SENTENCES, assets, tagger

from pipeline.data.conll import read_conll
from pipeline.errors import ConfigError
from pipeline.models.onnx_encoder import OnnxEncoder
from pipeline.models.tagger import encode_batch
from pipeline.predict.ner import NerPredictor

pytestmark = pytest.mark.usefixtures("one_thread")

ARCHITECTURES = [
    {},
    {"encoder": "gru", "layers": 2},
    {"encoder": "rnn", "bidirectional": False, "casing": False},
    {"char_encoder": "none", "layers": 3, "doc_context": True},
    {"char_kernel": 4, "encoder": "gru", "bidirectional": False},
]


def torch_states(model, batch) -> torch.Tensor:
    """(B,T,H) torch encoder states, zero on padding, as the ONNX graph gives them."""
    states = model._encode(model._features(batch), batch)  # (N,H)
    return states.new_zeros((*batch.mask.shape, states.shape[1])).index_put_((batch.mask,), states)


@pytest.mark.parametrize("overrides", ARCHITECTURES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_float_graph_gives_torch_states_on_a_ragged_batch(overrides):
    model = tagger(**overrides).eval()
    batch = encode_batch(SENTENCES, assets(), docs=[0, 0, 1])
    with torch.inference_mode():
        expected = torch_states(model, batch)
        got = OnnxEncoder(model)(batch)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert not got[~batch.mask].any()  # nothing past a sentence's end


def test_engines_tag_alike_and_training_drops_the_session():
    model = tagger(doc_context=True)
    assert model.use_engine("onnx") == "onnx"
    batch = encode_batch(SENTENCES, assets(), docs=[0, 0, 1])
    with torch.inference_mode():
        onnx_emissions = model.eval().emissions(batch)
        model.use_engine("torch")
        torch.testing.assert_close(onnx_emissions, model.emissions(batch), rtol=1e-5, atol=1e-5)
    model.use_engine("onnx")
    model.train()
    assert model.onnx is None  # its weights would go stale as training updates them


def test_auto_runs_numpy_in_float_and_onnx_in_int8():
    model = tagger().eval()
    assert model.use_engine("auto", "int8") == "onnx" and model.onnx is not None  # int8 runs on ONNX Runtime
    assert model.use_engine("auto") == "numpy" and model.onnx is None
    predictor = NerPredictor(model, assets())
    single = predictor.predict_spans(SENTENCES[:1])  # one sentence: numpy too
    assert predictor.fast.memo.index
    model.use_engine("onnx")
    assert NerPredictor(model, assets()).predict_spans(SENTENCES[:1]) == single


def test_int8_tags_the_sample_sentences_as_float(ner_model, sample_root):
    """The issue's bar: int8 entities equal float ones on at least 98% of the sample's test sentences."""
    sentences = [s.words for s in read_conll(sample_root / "conll2003" / "eng.testb.gz", "iob1", "iob2") if s.words]
    float_spans = NerPredictor.load(ner_model, engine="onnx").predict_spans(sentences)
    int8_spans = NerPredictor.load(ner_model, quantize="int8").predict_spans(sentences)
    assert NerPredictor.load(ner_model, engine="torch").predict_spans(sentences) == float_spans
    same = sum(a == b for a, b in zip(float_spans, int8_spans)) / len(sentences)
    assert same >= 0.98, f"int8 entities equal float ones on {same:.1%} of {len(sentences)} sentences"
    assert any(float_spans), "the model tags nothing: the comparison would be empty"


@pytest.mark.parametrize(("engine", "quantize", "field"), [("torch", "int8", "quantize"), ("gpu", "none", "engine/quantize")])
def test_impossible_engine_settings_are_named(ner_model, engine, quantize, field):
    with pytest.raises(ConfigError, match=field):
        NerPredictor.load(ner_model, engine=engine, quantize=quantize)


def test_int8_refuses_a_gru_encoder():
    with pytest.raises(ConfigError, match="LSTM encoders"):
        tagger(encoder="gru").use_engine("auto", "int8")


def test_a_char_lstm_model_runs_numpy_under_auto_and_refuses_onnx():
    model = tagger(char_encoder="lstm")
    assert model.use_engine("auto") == "numpy"
    with pytest.raises(ConfigError, match="char_encoder"):
        model.use_engine("onnx")
