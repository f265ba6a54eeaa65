"""The judge used when a tournament names none: the local Gemma 3 270M base model, no API key needed.

Gemma 3 270M base is close to chance on MT-bench pairs whatever the protocol: it is a smoke-test
judge (runs anywhere, offline, ~1 s per scoring on 2 CPU cores), not a trustworthy one.
Configure a real judge model for real tournaments.

Measured with ``.venv/bin/python benchmarks/judges.py eval`` on 40 MT-bench pairs with a clear
winner (``benchmarks/data/mt_bench_pairs.jsonl``), every pair in both orders, completion-style
prompts, 2 CPU threads (AMD EPYC)::

    protocol                rows  accuracy  position_consistency  slot_a_rate  errors  seconds
    logprob                   40     0.375                 0.125        0.537       0     84.4
    pointwise/logprob         40     0.525                 1.000        0.500       0     52.0
    per_criterion/logprob     16     0.312                 0.188        0.344       0     71.7
    generate                   6     0.200                 0.400        0.857       1     35.6
    pointwise/generate         6     0.250                 1.000        0.500       2     22.4
    per_criterion/generate     4         -                     -            -       4     21.2

(accuracy over pairs judged; errors are pairs with no parsable verdict in some order.)
Chat-style prompts are not an option on this base model (no chat template); flattened to plain
text, "A or B?" picked slot A 100% of the time (accuracy 0.55 only through the both-orders
average).

Pointwise via logprob is kept: it is the best of a weak lot, it cannot favour a slot (each
output is scored alone), it never fails to parse, and it is by far the fastest per comparison,
because each output is scored once and cached whatever the number of matches it plays
(``benchmarks/judges.py throughput``: 8 outputs, 28 matches, ~360-token prompts, batched with
prefix reuse: 27 comparisons/s against 0.8 for pairwise logprob one match at a time).
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODEL = "default"  # the transformers backend resolves it to judges.models.default_model_dir()

DEFAULT_JUDGE_SPEC: dict[str, Any] = {
    "backend": "transformers",
    "model": DEFAULT_MODEL,
    "protocol": "pointwise",
    "via": "logprob",
    "prompt_style": "completion",
    # Outputs cut to 400 tokens keep a scoring near 700 tokens; 150 and 800 scored no better.
    "max_output_tokens": 400,
    "params": {"device": "auto", "dtype": "auto", "batch_size": 8, "prefix_reuse": True},
}
