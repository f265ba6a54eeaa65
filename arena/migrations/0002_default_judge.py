"""The ``general`` rubric and the ``default`` judge: Gemma 3 270M (base) on the local CPU.

The default judge is tiny and weak; it exists so that the arena works out of the box. Point the
arena at a real judge by adding a judge configuration (an OpenAI-compatible endpoint, or a larger
local model on a GPU worker).
"""

from django.db import migrations

GENERAL_CRITERIA = [
    {"name": "correctness", "weight": 3,
     "description": "Facts, reasoning and calculations are right; agrees with the reference answer when given."},
    {"name": "helpfulness", "weight": 2,
     "description": "Does what the user asked, completely, with the detail the task needs."},
    {"name": "clarity", "weight": 1,
     "description": "Well organised and easy to follow; no padding or needless repetition."},
]


def create_defaults(apps, schema_editor):
    Rubric = apps.get_model("arena", "Rubric")
    JudgeConfig = apps.get_model("arena", "JudgeConfig")
    rubric, _ = Rubric.objects.get_or_create(
        name="general", version=1,
        defaults={"description": "General answer quality.", "criteria": GENERAL_CRITERIA,
                  "instructions": "Judge which answer serves the user better."},
    )
    JudgeConfig.objects.get_or_create(
        name="default", version=1,
        # judges.defaults.DEFAULT_JUDGE_SPEC at the time of writing (migrations are frozen history).
        defaults={"backend": "transformers", "model": "default", "protocol": "pointwise",
                  "prompt_style": "completion", "options": {"via": "logprob", "max_output_tokens": 400},
                  "params": {"device": "auto", "dtype": "auto", "batch_size": 8, "prefix_reuse": True},
                  "rubric": rubric, "both_orders": True,
                  "notes": "Gemma 3 270M base, local CPU. Tiny and weak: a demo judge, not a real one."},
    )


def remove_defaults(apps, schema_editor):
    apps.get_model("arena", "JudgeConfig").objects.filter(name="default", version=1).delete()
    apps.get_model("arena", "Rubric").objects.filter(name="general", version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("arena", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, remove_defaults)]
