"""REST serving: ``w2vp mlflow serve`` (``mlflow models serve --env-manager local``) answers ``/invocations``."""

from __future__ import annotations

import json
import os
import sys
import urllib.request

import pytest
from conftest import register
from mlflow_server_util import free_port, start_server, stop

from pipeline.predict.sentiment import SentimentPredictor
from pipeline.tracking.registry import promote

pytestmark = pytest.mark.slow  # a scoring server starts in a subprocess: tens of seconds


def test_serve_champion_answers_invocations(tracking, sentiment_model_dir, mlflow_server, tmp_path):
    name = "test-sentiment-serve"
    version = register("sentiment", sentiment_model_dir, {"test_acc": 0.5}, name)
    assert promote(name, version.version, "test_acc").promoted
    port = free_port()
    command = [sys.executable, "-c", "from pipeline.cli.mlflow import mlflow_app; mlflow_app()",
               "serve", name, "--port", str(port)]
    env = os.environ | {"MLFLOW_TRACKING_URI": mlflow_server}
    server = start_server(command, f"http://127.0.0.1:{port}/ping", tmp_path / "serve.log", env=env)
    try:
        texts = ["great film", "awful plot"]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", method="POST",
                                         data=json.dumps({"inputs": texts}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            predictions = json.loads(response.read())["predictions"]
    finally:
        stop(server)
    expected = SentimentPredictor.load(sentiment_model_dir).predict_texts(texts)
    assert [p["label"] for p in predictions] == [e.label for e in expected]
    assert [p["probability"] for p in predictions] == pytest.approx([e.probability for e in expected])
