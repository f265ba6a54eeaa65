"""Verifiable checks: on rubrics, per prompt (metadata) and their results on each judgment; the
listwise protocol and the groupwise schedule; panels of judges.

The ``general`` rubric gains checks as a new version (version 1 stays, as used judge configurations
are immutable), and the ``default`` judge follows it: in place while nothing used it, else as a
new version.
"""

from django.db import migrations, models

# Frozen here, as migrations are history (see judges.checks for the format).
GENERAL_CHECKS = [
    # An empty answer loses to any answer without asking the judge.
    {"name": "not empty", "kind": "min_words", "limit": 1, "mode": "fatal", "on_both_fail": "both_bad"},
    # Math with a reference answer: the final number should be the reference's. A criterion beside
    # the judge, not a veto: a reference's last number is not always its answer (MT-bench 117 ends
    # "... in the solution of |x + 5| < 10"), see benchmarks/verifiable_checks.py.
    {"name": "final answer", "kind": "reference_number", "mode": "criterion", "weight": 1, "categories": ["math"],
     "tolerance": 0.01},
]


def general_rubric_with_checks(apps, schema_editor):
    Rubric = apps.get_model("arena", "Rubric")
    JudgeConfig = apps.get_model("arena", "JudgeConfig")
    first = Rubric.objects.filter(name="general", version=1).first()
    if first is None or Rubric.objects.filter(name="general", version=2).exists():
        return
    rubric = Rubric.objects.create(name="general", version=2, description=first.description,
                                   instructions=first.instructions, criteria=first.criteria, checks=GENERAL_CHECKS)
    latest = JudgeConfig.objects.filter(name="default").order_by("-version").first()
    if latest is None or latest.rubric_id != first.pk:
        return
    if latest.judgments.exists() or latest.tournaments.exists():
        JudgeConfig.objects.create(
            name="default", version=latest.version + 1, rubric=rubric, backend=latest.backend, model=latest.model,
            protocol=latest.protocol, prompt_style=latest.prompt_style, params=latest.params,
            options=latest.options, both_orders=latest.both_orders, notes=latest.notes)
    else:
        JudgeConfig.objects.filter(pk=latest.pk).update(rubric=rubric)


def back_to_general_v1(apps, schema_editor):
    Rubric = apps.get_model("arena", "Rubric")
    JudgeConfig = apps.get_model("arena", "JudgeConfig")
    second = Rubric.objects.filter(name="general", version=2).first()
    first = Rubric.objects.filter(name="general", version=1).first()
    if second is None or first is None:
        return
    JudgeConfig.objects.filter(rubric=second, judgments__isnull=True, tournaments__isnull=True).update(rubric=first)
    if not JudgeConfig.objects.filter(rubric=second).exists():
        second.delete()


class Migration(migrations.Migration):

    dependencies = [("arena", "0011_judge_queue")]

    operations = [
        migrations.AddField(
            model_name="prompt",
            name="metadata",
            field=models.JSONField(blank=True, default=dict,
                                   help_text="Per-prompt checks, json_schema and answer (see judges.checks)."),
        ),
        migrations.AddField(
            model_name="rubric",
            name="checks",
            field=models.JSONField(blank=True, default=list,
                                   help_text="Verifiable checks run in code before the judge (see judges.checks)."),
        ),
        migrations.AddField(
            model_name="judgment",
            name="checks",
            field=models.JSONField(blank=True, default=dict,
                                   help_text="Verifiable checks' results and what they decided (judges.checks)."),
        ),
        migrations.AlterField(
            model_name="judgeconfig",
            name="protocol",
            field=models.CharField(choices=[("logprob", "Logprob"), ("generate", "Generate"),
                                            ("per_criterion", "Per Criterion"), ("pointwise", "Pointwise"),
                                            ("likelihood", "Likelihood"), ("pmi", "Pmi"), ("listwise", "Listwise"),
                                            ("panel", "Panel")],
                                   default="logprob", max_length=20),
        ),
        migrations.AlterField(
            model_name="tournament",
            name="schedule",
            field=models.CharField(choices=[("anchor", "everyone vs an anchor model"),
                                            ("bracket", "single elimination per prompt"),
                                            ("round_robin", "every pair on every prompt"),
                                            ("adaptive", "most informative pairs first"),
                                            ("groupwise", "groups of k per prompt, one listwise call each")],
                                   default="anchor", max_length=20),
        ),
        migrations.RunPython(general_rubric_with_checks, back_to_general_v1),
    ]
