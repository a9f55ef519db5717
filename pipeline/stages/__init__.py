"""The DVC stages, one small script with a ``main()`` each (``python -m pipeline.stages.NAME``); ``dvc.yaml`` runs them."""
