"""The command line's evaluations: `eval` (retrieval, highlights, abstention) and `eval-followups`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import click

from bot.cli_context import Context
from index.errors import CasebotError

EVAL_PROGRESS_EVERY = 5.0  # seconds between two progress lines of `eval`


# -- eval -----------------------------------------------------------------------------------

@click.command("eval")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("--feedback", type=click.Path(path_type=Path), default=None,
              help="Instead: turn a Discord feedback file into evaluation lines (JSONL on stdout).")
@click.option("--corpus", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Evaluate on this corpus folder (its index goes to var/eval/).")
@click.pass_obj
def eval_command(
    obj: Context, file: Path | None, as_json: bool, feedback: Path | None, corpus: Path | None
) -> None:
    """Score retrieval on FILE (JSONL lines {"q": ..., "gold": [...], "doc": ...}) or convert feedback."""
    if feedback is not None:
        from bot.feedback import feedback_to_eval_lines

        for line in feedback_to_eval_lines(feedback):
            click.echo(json.dumps(line, ensure_ascii=False))
        return
    if file is None:
        raise click.UsageError("give an evaluation FILE, or --feedback FILE")
    from bot.evaluation import evaluate, load_questions

    questions = load_questions(file)
    casebot = _evaluation_casebot(obj, corpus)
    answers: dict[str, Any] = {}
    total = len({q.question for q in questions})
    said = time.monotonic()

    def ask(question: str) -> Any:  # each question once, whatever groups it is counted in
        nonlocal said
        if question not in answers:
            answers[question] = casebot.ask(question, max(3, obj.settings.top_k))
            if time.monotonic() - said >= EVAL_PROGRESS_EVERY or len(answers) == total:
                said = time.monotonic()
                click.echo(f"eval: {len(answers)} of {total} questions asked", err=True)
        return answers[question]

    report = evaluate(questions, ask)
    groups = {g: evaluate([q for q in questions if q.group == g], ask)
              for g in sorted({q.group for q in questions if q.group and q.on_topic})}
    if as_json:
        click.echo(
            json.dumps(
                {name: value for name, value in report.rows()}
                | {"misses": list(report.misses), "answered_off_topic": list(report.answered_off_topic)}
                | {"groups": {g: dict(r.rows()) for g, r in groups.items()}},
                ensure_ascii=False,
            )
        )
        return
    for name, value in report.rows():
        click.echo(f"{name:<38}{value}")
    if groups:
        click.echo(
            f"\n{'direction':<10}{'questions':>10}{'recall@1':>10}{'recall@3':>10}"
            f"{'in answer':>11}{'declined':>10}"
        )
        for g, r in groups.items():
            click.echo(f"{g:<10}{r.on_topic:>10}{r.recall_at_1:>10.3f}{r.recall_at_3:>10.3f}{r.in_answer:>11.3f}"
                       f"{r.on_topic_declined:>10}")
    for miss in report.misses:
        click.echo(f"  not found in top 3: {miss}")
    for question in report.answered_off_topic:
        click.echo(f"  answered though off-topic: {question}")


def _evaluation_casebot(obj: Context, corpus: Path | None):  # -> CaseBot
    """The CaseBot an evaluation asks: over ``corpus`` (its own index under var/eval/) when given."""
    if corpus is not None:
        if not corpus.is_dir():
            raise CasebotError(f"The corpus folder {corpus} does not exist.")
        folder = corpus.resolve()
        key = hashlib.sha256(str(folder).encode()).hexdigest()[:8]  # two corpora may share a folder name
        index_dir = Path("var") / "eval" / f"{obj.settings.embedder}-{folder.name}-{key}"
        obj.settings = dataclasses.replace(obj.settings, corpus_dir=corpus, index_dir=index_dir)
    return obj.casebot(tell=True)


@click.command("eval-followups")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--corpus", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Evaluate on this corpus folder (its index goes to var/eval/).")
@click.option("--verbose-pairs", is_flag=True, help="Also print how the rule read each pair.")
@click.pass_obj
def eval_followups(obj: Context, file: Path, corpus: Path | None, verbose_pairs: bool) -> None:
    """Score follow-up questions on FILE (JSONL {"first", "followup", "full", "gold", "doc"[, "new_topic"]}):
    read by the rule, written out in full, asked alone."""
    from bot import followup
    from bot.followup_eval import evaluate_followups, load_pairs, table

    pairs = load_pairs(file)
    casebot = _evaluation_casebot(obj, corpus)
    answers: dict[str, Any] = {}

    def ask(question: str) -> Any:
        if question not in answers:
            answers[question] = casebot.ask(question, max(3, obj.settings.top_k))
        return answers[question]

    for line in table(evaluate_followups(pairs, ask)):
        click.echo(line)
    if verbose_pairs:
        for pair in pairs:
            reading = followup.read(pair.followup, pair.first)
            mark = "joined" if reading.joined else "alone "
            click.echo(f"  {'new' if pair.new_topic else 'fol'} {mark} {pair.followup}")
