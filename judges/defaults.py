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

Chosen by agreement with people (issue 7): ``.venv/bin/python benchmarks/judges.py eval --pairs
benchmarks/data/vicuna80_human_pairs.jsonl``: 48 (question, pair) items drawn with a fixed seed from the
shipped Vicuna-80 human votes (label = mean human vote; 26 first, 18 second, 4 ties), every item in
both orders, same settings as above (2 CPU threads, a busy shared machine, so seconds are inflated)::

    protocol                rows  agreement  no_ties  kappa   position_consistency  slot_a_rate  seconds
    logprob                   48      0.583    0.636   0.211                 0.062        0.906    641
    pointwise/logprob         48      0.521    0.568   0.115                 1.000        0.500    411
    likelihood                48      0.312    0.341  -0.366                 1.000        0.500    733
    pmi                       48      0.271    0.295  -0.346                 1.000        0.500   1004

(``agreement`` is the evaluation's accuracy: the combined verdict equals the human label, ties
included.) Pairwise ``logprob`` agrees best and is the default. The margin over ``pointwise`` is
3 items of 48, well inside the noise of so small a set (a standard error near 0.07), and
``logprob`` leans heavily on slot A (the both-orders average cancels it): both stay weak. Mean
log-likelihood and PMI agree with people *less* than chance: the base model finds plain, generic
answers more probable, people prefer the detailed ones. For comparison the GPT-4 reviews shipped
with the data agree with the same human votes on 0.65 of all 800 items (``/judges/``).
Cost: ``logprob`` reads both outputs twice per match (both orders) where ``pointwise`` scores each
output once whatever the number of matches: the demo tournaments take several times longer on the CPU.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODEL = "default"  # the transformers backend resolves it to judges.weights.default_model_dir()

DEFAULT_JUDGE_SPEC: dict[str, Any] = {
    "backend": "transformers",
    "model": DEFAULT_MODEL,
    "protocol": "logprob",
    "prompt_style": "completion",
    # Outputs cut to 400 tokens keep a scoring near 700 tokens; 150 and 800 scored no better.
    "max_output_tokens": 400,
    "params": {"device": "auto", "dtype": "auto", "batch_size": 8, "prefix_reuse": True},
}
