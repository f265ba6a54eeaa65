import json

from django.core.management.base import BaseCommand, CommandError

from arena.judge_configs import JudgeConfigError, create_judge_config
from arena.models import JUDGE_QUEUE, JudgeConfig


def key_values(pairs: list[str], what: str) -> dict:
    """``key=value`` pairs; values are read as JSON when they parse (numbers, booleans), else text."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"{what} must look like key=value, got {pair!r}")
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    return parsed


class Command(BaseCommand):
    help = ("Add a judge configuration in one line, e.g. create_judge vllm-qwen --backend openai --model "
            "Qwen/Qwen2.5-72B-Instruct --param base_url=http://gpu:8000/v1 --protocol generate. "
            "An existing name gets a new version.")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--backend", required=True, choices=["openai", "transformers", "fake"])
        parser.add_argument("--model", required=True)
        parser.add_argument("--protocol", default="generate", choices=JudgeConfig.Protocol.values)
        parser.add_argument("--prompt-style", default="chat", choices=["chat", "completion"])
        parser.add_argument("--param", action="append", default=[], help="backend parameter key=value")
        parser.add_argument("--option", action="append", default=[],
                            help="protocol option key=value (via, max_output_tokens, max_new_tokens, tie_margin)")
        parser.add_argument("--rubric", default="general", help="rubric name (latest version)")
        parser.add_argument("--single-order", action="store_true", help="judge one order only (not advised)")
        parser.add_argument("--queue", default=JUDGE_QUEUE,
                            help="Celery queue of its matches (default judge); e.g. judge.qwen for a worker "
                                 "started with -Q judge.qwen that serves this model only")

    def handle(self, *args, name: str, rubric: str, **o):
        try:
            config = create_judge_config(
                name=name, backend=o["backend"], model=o["model"], protocol=o["protocol"],
                prompt_style=o["prompt_style"], params=key_values(o["param"], "--param"),
                options=key_values(o["option"], "--option"), rubric=rubric, both_orders=not o["single_order"],
                queue=o["queue"])
        except JudgeConfigError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"created judge configuration {config}")
