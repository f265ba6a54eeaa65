from django.db import migrations, models


def default_judge_family(apps, schema_editor):
    # The packaged default judge is Gemma 3 270M.
    apps.get_model("arena", "JudgeConfig").objects.filter(name="default", model="default").update(family="gemma")


class Migration(migrations.Migration):

    dependencies = [
        ("arena", "0008_sec_auth_scopes"),
    ]

    operations = [
        migrations.AddField(
            model_name="competitor",
            name="family",
            field=models.CharField(blank=True, db_index=True, help_text="Model family (e.g. gpt, claude, llama): a judge of the same family may favour it; the judges page measures that.", max_length=100),
        ),
        migrations.AddField(
            model_name="judgeconfig",
            name="family",
            field=models.CharField(blank=True, help_text="The judge model's family (e.g. gpt): its self-preference is measured on the competitors of this family.", max_length=100),
        ),
        migrations.RunPython(default_judge_family, migrations.RunPython.noop),
    ]
