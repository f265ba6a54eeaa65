"""The arena's data model: what is evaluated, how it is judged, and what came of it."""

from __future__ import annotations

import hashlib
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from judges.base import ConfigurationError
from judges.prompts import rubric_from_dict

from . import limits
from .limits import validate_name
from .scopes import DEFAULT_SCOPES, parse_scopes


class CompetitorQuerySet(models.QuerySet):
    def answering(self, *, dataset: str = "", category: str = "") -> CompetitorQuerySet:
        """Models with at least one output on the dataset's (and category's) prompts, by name."""
        # One filter() call, so that one output meets every condition (not one output each).
        wanted = {"output_rows__isnull": False, "output_rows__prompt__dataset__name": dataset,
                  "output_rows__prompt__category": category}
        return self.filter(**{k: v for k, v in wanted.items() if v != ""}).distinct().order_by("name")

    def with_output_counts(self) -> CompetitorQuerySet:
        return self.annotate(outputs=models.Count("output_rows")).values("name", "description", "outputs")


class Competitor(models.Model):
    """A model under evaluation."""

    name = models.CharField(max_length=200, unique=True, validators=[validate_name])
    description = models.TextField(blank=True)
    family = models.CharField(max_length=100, blank=True, db_index=True,
                              help_text="Model family (e.g. gpt, claude, llama): a judge of the same family may "
                                        "favour it; the judges page measures that.")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CompetitorQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    """A named set of prompts (for example ``mt_bench``)."""

    name = models.CharField(max_length=200, unique=True, validators=[validate_name])
    description = models.TextField(blank=True)
    license = models.TextField(blank=True, help_text="Licence and attribution shown with the data.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PromptQuerySet(models.QuerySet):
    def for_listing(self, *, dataset: str | None = None, category: str | None = None) -> PromptQuerySet:
        rows = self.order_by("id")
        if dataset:
            rows = rows.filter(dataset__name=dataset)
        if category:
            rows = rows.filter(category=category)
        return rows.values("turns", "category", "reference", id_=models.F("external_id"),
                           dataset_name=models.F("dataset__name"))


class Prompt(models.Model):
    """One question, single- or multi-turn: ``turns`` holds the user turns in order."""

    external_id = models.CharField(max_length=200, unique=True, help_text="The id users upload and refer to.")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="prompts")
    turns = models.JSONField()
    category = models.CharField(max_length=100, blank=True, db_index=True, validators=[validate_name])
    reference = models.JSONField(null=True, blank=True, help_text="Reference answer turns, if any.")
    metadata = models.JSONField(default=dict, blank=True,
                                help_text="Per-prompt checks, json_schema and answer (see judges.checks).")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PromptQuerySet.as_manager()

    class Meta:
        ordering = ["dataset_id", "external_id"]

    def __str__(self) -> str:
        return self.external_id

    @property
    def first_turn(self) -> str:
        return self.turns[0] if self.turns else ""


class Output(models.Model):
    """A competitor's answer to a prompt: one assistant turn per user turn."""

    competitor = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="output_rows")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="outputs")
    turns = models.JSONField()
    char_count = models.PositiveIntegerField(default=0)
    token_count = models.PositiveIntegerField(default=0, help_text="Uploaded count, else an estimate.")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["competitor", "prompt"], name="one_output_per_prompt")]

    def __str__(self) -> str:
        return f"{self.competitor_id}:{self.prompt_id}"


class NamedQuerySet(models.QuerySet):
    """Rows people name by name or by id: the one place that tells which one a value is."""

    def named(self, value: str | int) -> NamedQuerySet:
        """The row with that id when ``value`` is one (``limits.as_id``), else the rows with that name."""
        pk = limits.as_id(value)
        return self.filter(pk=pk) if pk is not None else self.filter(name=str(value))

    def by_name_or_id(self, value: str | int):
        return self.named(value).first()


class VersionedQuerySet(NamedQuerySet):
    """Configurations saved as versions under one name (judge configurations, rubrics)."""

    def latest_named(self, name: str):
        """The latest version with that name, or None: what a name means wherever one is accepted."""
        return self.filter(name=name).order_by("-version").first()

    def by_name_or_id(self, value: str | int):
        """The row with that id, or the latest version with that name; None when there is neither."""
        return self.named(value).order_by("-version").first()


class Versioned(models.Model):
    """A configuration saved as versions under one name (rubrics, judge configurations)."""

    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)

    objects = VersionedQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name", "-version"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def next_version_number(self) -> int:
        latest = type(self).objects.filter(name=self.name).aggregate(v=models.Max("version"))["v"]
        return (latest or 0) + 1


class Rubric(Versioned):
    """Named, versioned judging criteria: ``criteria`` is a list of {name, description, weight}."""

    description = models.TextField(blank=True)
    instructions = models.TextField(blank=True)
    criteria = models.JSONField(default=list)
    checks = models.JSONField(default=list, blank=True,
                              help_text="Verifiable checks run in code before the judge (see judges.checks).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(Versioned.Meta):
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="rubric_name_version")]

    def clean(self) -> None:
        try:
            rubric_from_dict(self.as_spec())
        except ConfigurationError as exc:
            raise ValidationError({"criteria": str(exc)}) from None

    def as_spec(self) -> dict:
        spec = {
            "name": self.name,
            "version": self.version,
            "instructions": self.instructions,
            "criteria": self.criteria,
        }
        if self.checks:
            # Only when there are any, so the fingerprints of rubrics without checks stay as they were.
            spec["checks"] = self.checks
        return spec


JUDGE_QUEUE = "judge"  # the queue of judge work when a configuration names no other
# Letters, digits, dots, dashes and underscores: safe as a Redis key, a worker's -Q argument and a
# file name of the filesystem broker; "judge.gemma-27b" is the suggested shape.
QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def validate_queue_name(value: str) -> None:
    if not isinstance(value, str) or not QUEUE_NAME.fullmatch(value):
        raise ValidationError(
            f"queue {value!r} must be 1-100 letters, digits, dots, dashes or underscores, starting with a "
            "letter or digit (e.g. judge.gemma-27b)"
        )


class JudgeConfig(Versioned):
    """How matches are judged. Immutable once used: editing a used one makes a new version."""

    class Protocol(models.TextChoices):
        LOGPROB = "logprob"
        GENERATE = "generate"
        PER_CRITERION = "per_criterion"
        POINTWISE = "pointwise"
        LIKELIHOOD = "likelihood"
        PMI = "pmi"
        LISTWISE = "listwise"
        PANEL = "panel"
        PAIR_CRITERIA = "pair_criteria"

    SPEC_FIELDS = ("backend", "model", "protocol", "prompt_style", "params", "options", "rubric_id", "both_orders")

    backend = models.CharField(max_length=50, help_text="transformers, openai or fake")
    model = models.CharField(max_length=500, help_text="Model path, cached Hub id or served name; 'default' = "
                                                        "the packaged Gemma 3 270M (transformers backend).")
    protocol = models.CharField(max_length=20, choices=Protocol.choices, default=Protocol.LOGPROB)
    prompt_style = models.CharField(
        max_length=20, choices=[("chat", "chat"), ("completion", "completion")], default="chat"
    )
    params = models.JSONField(default=dict, blank=True, help_text="Backend parameters (device, base_url, ...).")
    options = models.JSONField(
        default=dict, blank=True,
        help_text="Protocol options: via, max_output_tokens, max_new_tokens, tie_margin (see judges.registry).",
    )
    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="judge_configs")
    both_orders = models.BooleanField(default=True)
    # Routing, not judging: not part of the spec, so a used configuration may move to another queue.
    queue = models.CharField(
        max_length=100, default=JUDGE_QUEUE, validators=[validate_queue_name],
        help_text="Celery queue its matches go to: run one GPU worker per judge model with -Q judge.<name>.",
    )
    notes = models.TextField(blank=True)
    # Not part of the spec: it describes the judge's model, so it may be corrected on a used configuration.
    family = models.CharField(max_length=100, blank=True,
                              help_text="The judge model's family (e.g. gpt): its self-preference is measured "
                                        "on the competitors of this family.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(Versioned.Meta):
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="judge_name_version")]

    def is_used(self) -> bool:
        return self.pk is not None and (self.judgments.exists() or self.tournaments.exists())

    def spec(self) -> dict:
        """The plain dict that ``judges.registry.build_judge`` takes."""
        return {
            **self.options,
            "backend": self.backend,
            "model": self.model,
            "protocol": self.protocol,
            "prompt_style": self.prompt_style,
            "params": self.params,
            "rubric": self.rubric.as_spec(),
        }

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and self._spec_changed() and self.is_used():
            raise ValidationError(
                f"judge configuration {self} is in use; save the change as a new version instead"
            )
        super().save(*args, **kwargs)

    def _spec_changed(self) -> bool:
        stored = type(self).objects.filter(pk=self.pk).values(*self.SPEC_FIELDS).first()
        return stored is not None and any(stored[f] != getattr(self, f) for f in self.SPEC_FIELDS)


class JudgeEvaluation(models.Model):
    """A judge_eval run: meta-evaluation numbers of one judge configuration on labelled pairs."""

    judge_config = models.ForeignKey(JudgeConfig, on_delete=models.CASCADE, related_name="evaluations")
    source = models.CharField(max_length=300, help_text="The file the labelled pairs came from.")
    metrics = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class Tournament(models.Model):
    class Schedule(models.TextChoices):
        ANCHOR = "anchor", "everyone vs an anchor model"
        BRACKET = "bracket", "single elimination per prompt"
        ROUND_ROBIN = "round_robin", "every pair on every prompt"
        ADAPTIVE = "adaptive", "most informative pairs first"
        GROUPWISE = "groupwise", "groups of k per prompt, one listwise call each"

    class Status(models.TextChoices):
        DRAFT = "draft"
        RUNNING = "running"
        PAUSED = "paused"
        FINISHED = "finished"
        CANCELLED = "cancelled"
        BUDGET_EXHAUSTED = "budget_exhausted"

    name = models.CharField(max_length=200, unique=True, validators=[validate_name])
    description = models.TextField(blank=True)
    judge_config = models.ForeignKey(JudgeConfig, on_delete=models.PROTECT, related_name="tournaments")
    schedule = models.CharField(max_length=20, choices=Schedule.choices, default=Schedule.ANCHOR)
    anchor = models.ForeignKey(
        Competitor, null=True, blank=True, on_delete=models.PROTECT, related_name="anchored_tournaments"
    )
    competitors = models.ManyToManyField(Competitor, related_name="tournaments")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.PROTECT)
    category = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # How the matches are laid out beyond the schedule: prompt_ids, brackets_per_prompt, seeding, seed,
    # seed_order (bracket seeding by rating, fixed when the tournament starts), and the estimate.
    plan = models.JSONField(default=dict, blank=True)
    budget = models.JSONField(default=dict, blank=True, help_text='Caps: {"calls"?, "tokens"?, "usd"?}.')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = NamedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def spent(self) -> dict:
        """What judging this tournament has cost so far (cache hits are free)."""
        return spent_of(Judgment.objects.filter(match__tournament=self).aggregate(**SPENT_SUMS))

    def over_budget(self, spent: dict) -> str:
        """The first cap reached, by name ("calls", "tokens", "usd"), or "" when none is."""
        used = {"calls": spent["judge_calls"], "tokens": spent["tokens"], "usd": spent["usd"]}
        return next((cap for cap, limit in self.budget.items() if limit is not None and used[cap] >= limit), "")

    def progress(self) -> dict:
        return progress_of(dict(self.matches.order_by().values("status").annotate(n=models.Count("pk"))
                                .values_list("status", "n")))


# A tournament's spending, summed over its judgments: one tournament (Tournament.spent) or a page of
# them grouped by tournament (progress.tournament_summaries).
SPENT_SUMS = {"calls": models.Sum("judge_calls"), "prompt": models.Sum("prompt_tokens"),
              "completion": models.Sum("completion_tokens"), "usd": models.Sum("cost_usd")}


def spent_of(totals: dict) -> dict:
    """``SPENT_SUMS``' totals as shown (a tournament without judgments has spent nothing)."""
    return {"judge_calls": totals.get("calls") or 0,
            "tokens": (totals.get("prompt") or 0) + (totals.get("completion") or 0),
            "usd": round(totals.get("usd") or 0.0, 6)}


def progress_of(counts: dict) -> dict:
    """Matches by status (``{"done": 3, ...}``, missing statuses 0) with the total."""
    return {"done": counts.get("done", 0), "running": counts.get("running", 0),
            "failed": counts.get("failed", 0), "pending": counts.get("pending", 0),
            "cancelled": counts.get("cancelled", 0), "total": sum(counts.values())}


class MatchQuerySet(models.QuerySet):
    def pending(self) -> MatchQuerySet:
        return self.filter(status=Match.Status.PENDING)

    def stale(self, *, older_than: timezone.timedelta) -> MatchQuerySet:
        """Claimed by a worker that has not renewed its lease in time (it died)."""
        return self.filter(status=Match.Status.RUNNING, claimed_at__lt=timezone.now() - older_than)

    def unqueued(self, *, grace: timezone.timedelta, lost_after: timezone.timedelta) -> MatchQuerySet:
        """Pending matches that no queued task will reach: never published (the broker was down when
        they were made), or published so long ago that the message must be lost (a broker restart)."""
        now = timezone.now()
        never = Q(enqueued_at__isnull=True, created_at__lt=now - grace)
        return self.filter(never | Q(enqueued_at__lt=now - lost_after), status=Match.Status.PENDING)


class Match(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    tournament = models.ForeignKey(Tournament, on_delete=models.CASCADE, related_name="matches")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="matches")
    competitor_a = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="+")
    competitor_b = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="+")
    output_a = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    output_b = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    round = models.PositiveSmallIntegerField(default=1)
    # Which of a prompt's independent single-elimination brackets this match belongs to.
    bracket = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Public: a class and a short message of ours (``JudgeError.summary``). The judge's full message,
    # which can quote a remote endpoint's answer, is ``error_detail``: for staff (the admin) only.
    last_error = models.TextField(blank=True)
    error_detail = models.TextField(blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a judge task for this match was last published; null while none was (see the sweeper).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MatchQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tournament", "prompt", "competitor_a", "competitor_b", "round", "bracket"],
                name="one_match_per_slot",
            ),
            models.CheckConstraint(condition=~Q(competitor_a=models.F("competitor_b")), name="match_not_self"),
        ]

    def __str__(self) -> str:
        return f"match {self.pk}"


class Judgment(models.Model):
    """The judge's decision on a match. One per match: a second is impossible by constraint."""

    class Winner(models.TextChoices):
        A = "a"
        B = "b"
        TIE = "tie"

    match = models.OneToOneField(Match, on_delete=models.CASCADE, related_name="judgment")
    judge_config = models.ForeignKey(JudgeConfig, on_delete=models.PROTECT, related_name="judgments")
    winner = models.CharField(max_length=3, choices=Winner.choices)
    score_a = models.FloatField(help_text="Outcome for ratings: P(a better), or 1 / 0.5 / 0.")
    weight = models.FloatField(default=1.0)
    prob_a = models.FloatField(null=True, blank=True)
    label = models.CharField(max_length=20, blank=True)
    consistent = models.BooleanField(null=True, help_text="Did both orders agree?")
    forward = models.JSONField(help_text="The verdict with output_a shown first.")
    backward = models.JSONField(null=True, blank=True, help_text="The verdict with output_b shown first.")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.FloatField(default=0.0)
    judge_calls = models.PositiveSmallIntegerField(default=0, help_text="Verdicts paid for (cache hits excluded).")
    latency_s = models.FloatField(default=0.0)
    truncated = models.BooleanField(default=False)
    checks = models.JSONField(default=dict, blank=True,
                              help_text="Verifiable checks' results and what they decided (judges.checks).")
    created_at = models.DateTimeField(auto_now_add=True)


class JudgeCacheEntry(models.Model):
    """A verdict (or a pointwise score) already paid for, keyed by judge fingerprint and content."""

    fingerprint = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    value = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fingerprint", "key"], name="judge_cache_key")]


class BattleTicket(models.Model):
    """A blind battle shown to one voter: the server remembers which output is on which side.

    The token is random (it encodes nothing), the page shows only the token, and a vote names the
    token alone; a ticket takes one vote (``used_at`` is claimed by a conditional update).
    """

    token = models.CharField(max_length=64, unique=True)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="+")
    output_left = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    output_right = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    ip = models.GenericIPAddressField(null=True, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(output_left=models.F("output_right")), name="ticket_two_outputs"),
            # One ticket per voter and battle (a pair of outputs fixes the prompt), whichever side each
            # output was shown on: a logged-in voter's across their sessions, an anonymous one's per session.
            models.UniqueConstraint(models.F("user"), Least("output_left", "output_right"),
                                    Greatest("output_left", "output_right"), condition=Q(user__isnull=False),
                                    name="one_ticket_per_user_battle"),
            models.UniqueConstraint(models.F("session_key"), Least("output_left", "output_right"),
                                    Greatest("output_left", "output_right"), condition=Q(user__isnull=True),
                                    name="one_ticket_per_session_battle"),
        ]

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(24)


class HumanVote(models.Model):
    class Winner(models.TextChoices):
        A = "a"
        B = "b"
        TIE = "tie"
        BOTH_BAD = "tie (bothbad)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="votes")
    output_a = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    output_b = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    winner = models.CharField(max_length=15, choices=Winner.choices)
    # One vote per ticket, by constraint; imported votes have no ticket but an external id.
    ticket = models.OneToOneField(BattleTicket, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="vote")
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True,
                                   help_text="For imported votes: a stable id, so a re-import adds nothing.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(output_a=models.F("output_b")), name="vote_two_outputs"),
        ]

    def clean(self) -> None:
        """An impossible vote (one output twice, outputs of another prompt, a model against itself)."""
        if not (self.output_a_id and self.output_b_id and self.prompt_id):
            return
        if self.output_a_id == self.output_b_id:
            raise ValidationError("a vote compares two different outputs, not one output with itself")
        a, b = self.output_a, self.output_b
        if a.prompt_id != self.prompt_id or b.prompt_id != self.prompt_id:
            raise ValidationError("both outputs must answer the vote's prompt")
        if a.competitor_id == b.competitor_id:
            raise ValidationError("a vote compares two different competitors, not one with itself")


class ImportedBattle(models.Model):
    """An already-judged comparison brought in from elsewhere (arena dumps, AlpacaEval, old runs)."""

    external_id = models.CharField(max_length=100, unique=True, help_text="Given id, or a content hash.")
    model_a = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="+")
    model_b = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="+")
    prompt = models.ForeignKey(Prompt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    winner = models.CharField(max_length=15, blank=True)
    score_a = models.FloatField()
    source = models.CharField(max_length=100, default="imported", db_index=True, validators=[validate_name])
    weight = models.FloatField(default=1.0)
    rationale = models.TextField(blank=True, help_text="The reviewer's reasons, when the source gave them.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(model_a=models.F("model_b")), name="battle_not_self"),
            models.CheckConstraint(condition=Q(score_a__gte=0) & Q(score_a__lte=1), name="battle_score_range"),
        ]


class LeaderboardSnapshot(models.Model):
    """A computed leaderboard for one set of query parameters, served until new results arrive."""

    key = models.CharField(max_length=300, unique=True)
    params = models.JSONField()
    payload = models.JSONField()
    battles = models.PositiveIntegerField(default=0)
    stale = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)
    # Only snapshots read recently are recomputed in the background; others wait for their next read.
    read_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When new results last made it stale: a recompute that started before keeps it stale.
    marked_at = models.DateTimeField(null=True, blank=True)
    # When the last recompute started: a snapshot marked since then needs no new mark.
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-computed_at"]


class ApiToken(models.Model):
    """A per-user bearer token. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # What the token may do (``arena.scopes``), comma-separated: read, upload, run, admin.
    scopes = models.CharField(max_length=100, default=",".join(DEFAULT_SCOPES))
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The same actions for people on the pages: grant them to a group (or be staff).
        permissions = [
            ("scope_upload", "Can upload prompts, outputs and battles"),
            ("scope_run", "Can create and control tournaments"),
            ("scope_admin", "Can manage judge configurations and rubrics and see their endpoints"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user, name: str = "", scopes: list[str] | tuple[str, ...] = DEFAULT_SCOPES,
              ) -> tuple[ApiToken, str]:
        token = "arena_" + secrets.token_urlsafe(32)
        row = cls.objects.create(user=user, name=name, prefix=token[6:14], key_hash=cls.hash(token),
                                 scopes=",".join(parse_scopes(",".join(scopes))))
        return row, token
