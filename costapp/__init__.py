"""Inference Ledger: FinOps cost attribution for AI inference."""

from .celery import app as celery_app

__all__ = ["celery_app"]
