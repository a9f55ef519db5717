"""Stage ``train_ner``: train the NER tagger on the prepared CoNLL splits and the word2vec vectors.

With ``ner.model.lm: frozen | finetune`` the tagger also reads the ``pretrain_lm`` stage's language model.

Reads only the ``ner`` section of params.yaml. Outputs: ``outputs/ner/model``
(the best epoch on dev entity F1: weights, config, vocabularies),
``outputs/ner/checkpoints`` (the last epoch, for ``--resume``) and per-epoch
metrics (dev F1, loss, tokens/s) in ``dvclive/ner`` for ``dvc plots`` and in the MLflow run.
With ``ner.train.processes: N`` > 1 it re-runs itself under torchrun (:mod:`pipeline.stages.launch`).

    python -m pipeline.stages.train_ner [--resume]
"""

from __future__ import annotations

import argparse

import torch

from pipeline import paths
from pipeline.config import load_section
from pipeline.data.splits import prepared_language, read_split_documents
from pipeline.model_dir import write_data_info
from pipeline.runner import run
from pipeline.stages.launch import relaunch, tracked_stage
from pipeline.training.ner_task import NerConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the NER tagger.")
    parser.add_argument("--resume", action="store_true", help="continue from outputs/ner/checkpoints")
    args = parser.parse_args()
    cfg = load_section(NerConfig, "ner")
    relaunch(cfg.train.processes)
    torch.set_num_threads(cfg.threads)
    with tracked_stage(paths.NER_MODEL_NAME, "train_ner", paths.NER_LIVE, args.resume) as tracked:
        (train_records, train_docs), (dev_records, dev_docs) = (
            read_split_documents(paths.NER_SPLITS / f"{name}.jsonl") for name in ("train", "dev"))
        result = train(cfg, train_records, dev_records, paths.VECTORS, paths.NER_OUT, tracked.epochs,
                       resume=args.resume, docs=(train_docs, dev_docs), lm_dir=paths.LM_MODEL)
        write_data_info(result.model_dir, prepared_language())
        tracked.tracker.log_artifact(result.model_dir)


if __name__ == "__main__":
    run(main)
