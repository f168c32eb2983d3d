"""Benchmarks: answer quality and serving speed, measured side by side (`make bench`).

quality.py    held-out and cross-validated NLU figures for the pipeline and the baselines
baselines.py  nearest-neighbour retrievers (TF-IDF character n-grams, MiniLM embeddings)
load.py       simulated visitors over REST and socket.io, and a per-component latency breakdown
report.py     docs/benchmarks.md, the plots and docs/benchmarks/history.csv
"""
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
