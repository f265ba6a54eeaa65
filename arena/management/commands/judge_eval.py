import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from arena.jsonl import numbered_rows
from arena.judge_configs import secret_policy
from arena.models import JudgeConfig, JudgeEvaluation
from judges.base import JudgeError
from judges.evaluation import evaluate_judge
from judges.registry import build_judge


class Command(BaseCommand):
    help = ("Measure a judge configuration on labelled pairs: JSONL rows {prompt, output_1, output_2, "
            "label: 1|2|0, reference?}. Prints accuracy, position consistency and bias numbers as JSON.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--judge", required=True, help="judge configuration name (latest version) or id")
        parser.add_argument("--limit", type=int, default=None, help="judge only the first N rows")

    def handle(self, *args, file: Path, judge: str, limit: int | None, **options):
        config = self._config(judge)
        rows = self._rows(file, limit)
        try:
            # Straight to the judge, bypassing the judgment cache: these numbers include the time taken.
            metrics = evaluate_judge(build_judge(config.spec(), policy=secret_policy()), rows)
        except (JudgeError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        JudgeEvaluation.objects.create(judge_config=config, source=str(file), metrics=metrics)
        self.stdout.write(json.dumps({"judge": str(config), **metrics}, indent=2))

    def _config(self, value: str) -> JudgeConfig:
        found = JudgeConfig.objects.select_related("rubric").by_name_or_id(value)
        if found is None:
            raise CommandError(f"no judge configuration named {value!r}")
        return found

    def _rows(self, file: Path, limit: int | None) -> list[dict]:
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        rows = []
        try:
            for number, row in numbered_rows(file):
                missing = {"prompt", "output_1", "output_2", "label"} - set(row)
                if missing:
                    raise CommandError(f"{file}:{number}: missing {', '.join(sorted(missing))}")
                rows.append(row)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        return rows[:limit] if limit else rows
