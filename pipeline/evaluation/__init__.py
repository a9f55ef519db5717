"""Evaluation of trained models: metrics, confusion tables and error reports."""
