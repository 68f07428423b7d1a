"""The casebot command line: ask, chat, index, eval (bot.cli_eval), run, discord sync.

Every error a user can act on is printed as one line on stderr, with a non-zero exit status.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click

from bot.cli_context import Context
from bot.cli_eval import eval_command, eval_followups
from bot.settings import Settings, unknown_keys
from index.errors import CasebotError, QuestionRejected
from index.text.shown import shown

log = logging.getLogger("bot")

EXIT_ERROR = 1
EXIT_USAGE = 2


def _check_folders(settings: Settings, corpus_needed: bool) -> None:
    """INDEX_DIR must be writable and CORPUS_DIR present: said in one line before any model loads.
    Without the corpus folder an existing index still answers, with a warning."""
    index_dir = settings.index_dir
    existing = next((p for p in (index_dir, *index_dir.absolute().parents) if p.exists()), Path("/"))
    if not os.access(existing, os.W_OK):
        raise CasebotError(f"INDEX_DIR {shown(str(index_dir))} cannot be written ({shown(str(existing))} is "
                           "read-only or not yours): set INDEX_DIR to a folder casebot may write.")
    if settings.corpus_dir.is_dir():
        return
    if corpus_needed or settings.open_store().current_build() is None:
        raise CasebotError(f"The corpus folder {shown(str(settings.corpus_dir))} does not exist "
                           "(set CORPUS_DIR or create it).")
    click.echo(f"warning: the corpus folder {shown(str(settings.corpus_dir))} does not exist; answering "
               "from the index built before", err=True)


class _ShownNames(logging.Filter):
    """Every log line is one line whatever a file or document is called (index.text.shown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if shown(message) != message:
            record.msg, record.args = shown(message), None
        return True


def _configure_logging(level: str) -> None:
    numeric = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(
        level=numeric, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.setLevel(numeric)  # libraries that set their own logger level still stay quiet
        if not any(isinstance(f, _ShownNames) for f in handler.filters):
            handler.addFilter(_ShownNames())
    for noisy in ("sentence_transformers", "transformers", "faiss", "bm25s", "httpx", "nio", "discord",
                  "peewee"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


class CasebotGroup(click.Group):
    """Turns CasebotError into one line on stderr and a non-zero exit."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except CasebotError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=CasebotGroup)
@click.option(
    "--env-file", default=".env", show_default=True, help="Settings file; the environment wins over it."
)
@click.option("--verbose", "-v", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def cli(ctx: click.Context, env_file: str, verbose: bool) -> None:
    """casebot: answers questions about the case with verbatim, attributed quotes.

    `./dev COMMAND`, `casebot COMMAND` and `python -m bot COMMAND` are the same program. Settings come
    from .env and the environment (.env.example lists them)."""
    settings = Settings.load(env_file)
    for line in unknown_keys(env_file):
        click.echo(f"warning: {line}", err=True)
    level = "INFO" if verbose else settings.log_level
    command = ctx.invoked_subcommand
    if command in {"ask", "chat", "eval"} and not verbose and settings.log_level.upper() == "INFO":
        level = "WARNING"  # keep answers readable; warnings (skipped files) still show
    _configure_logging(level)
    ctx.obj = Context(settings)


# -- ask / chat -----------------------------------------------------------------------------

def _serving() -> None:
    """This process answers questions: apply bot/runtime.py's process-wide settings (numpy's BLAS
    threads, glibc's malloc thresholds; measured with bench/latency.py) here, never on import."""
    from bot.runtime import tune_for_questions

    tune_for_questions()


def _read_questions(stream) -> Iterator[str]:
    for line in stream:
        if line.strip():
            yield line.rstrip("\n")


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question.")
@click.option(
    "--top-k", type=click.IntRange(min=1, max=20), default=None, help="Passages to show (default TOP_K, 3)."
)
@click.pass_obj
def ask(obj: Context, question: str, as_json: bool, top_k: int | None) -> None:
    """Answer QUESTION; '-' reads one question per line from stdin."""
    from bot.questions import clean_question
    from bot.render.terminal import render_answer

    _serving()
    _check_folders(obj.settings, corpus_needed=False)
    tell = sys.stderr.isatty()
    if question != "-":
        clean_question(question, obj.settings.max_question_chars)  # fail fast, before loading the model
        answer = obj.casebot(one_question=True, tell=tell).ask(question, top_k)
        if as_json:
            click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            click.echo(render_answer(answer, color=sys.stdout.isatty()), nl=False)
        return
    failures = 0
    casebot = obj.casebot(tell=tell)
    for line in _read_questions(sys.stdin):
        try:
            answer = casebot.ask(line, top_k)
        except QuestionRejected as exc:
            failures += 1
            if as_json:
                click.echo(json.dumps({"question": line[:200], "error": str(exc)}, ensure_ascii=False))
            else:
                click.echo(f"error: {exc}", err=True)
            continue
        if as_json:
            click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            click.echo(f"Q: {line}\n" + render_answer(answer, color=sys.stdout.isatty()))
        sys.stdout.flush()
    if failures:
        sys.exit(EXIT_ERROR)


@cli.command()
@click.pass_obj
def chat(obj: Context) -> None:
    """Ask questions one after another; Ctrl-D quits.

    Each answer is the best passages, as `ask` prints them; a follow-up ("and Russia?") is read with
    the question before it; an empty line asks nothing. Questions are answered from every new build
    of INDEX_DIR, whoever makes it."""
    import asyncio

    from bot.conversation import Conversation, Notice
    from bot.render.terminal import render_answer

    _serving()
    _check_folders(obj.settings, corpus_needed=False)

    history = obj.settings.index_dir.parent / "chat_history"
    try:
        import readline

        history.parent.mkdir(parents=True, exist_ok=True)
        if history.exists():
            readline.read_history_file(history)
    except (ImportError, OSError):
        readline = None  # type: ignore[assignment]
    casebot = obj.casebot(tell=True)
    casebot.start_background()  # answer from every new build of INDEX_DIR, whoever makes it
    # The same conversation as in the chat rooms: a line that depends on the previous question is read
    # with it (bot.followup), and the answer says so.
    conversation = Conversation(casebot, obj.settings)
    click.echo("Ask about the case (Ctrl-D to quit).")
    try:
        with asyncio.Runner() as runner:
            while True:
                try:
                    question = input("? ")
                except EOFError:
                    click.echo()
                    break
                if not question.strip():
                    continue
                answer = runner.run(conversation.answer(question, "chat"))
                if isinstance(answer, Notice):
                    click.echo(f"error: {answer.text}")
                else:
                    click.echo(render_answer(answer, color=sys.stdout.isatty()))
    finally:
        if readline is not None:
            try:
                readline.write_history_file(history)
            except OSError:
                pass


# -- index ----------------------------------------------------------------------------------

@cli.group()
def index() -> None:
    """Build the index or show its status."""


@index.command("build")
@click.option("--full", is_flag=True, help="Re-embed everything instead of reusing unchanged vectors.")
@click.option("--no-wait", is_flag=True, help="Exit at once if another process is building this index.")
@click.option("--watch", is_flag=True,
              help="Then keep watching the corpus: rebuild a few seconds after files stop changing.")
@click.pass_obj
def index_build(obj: Context, full: bool, no_wait: bool, watch: bool) -> None:
    """Bring the index up to date with the corpus (incremental)."""
    started = time.perf_counter()
    _check_folders(obj.settings, corpus_needed=True)
    if no_wait:  # say so before spending seconds on loading the model
        from index.store.lock import BuildLock

        BuildLock(obj.settings.index_dir).check_free()
    casebot = obj.casebot(open_index=False)

    def build(full: bool, started: float) -> None:
        """One build; ``started`` is when the command (the first time) or the rebuild began."""
        # Each warning is already one log line (index.ingest.documents): not printed a second time here.
        report = casebot.rebuild(full=full, progress=sys.stderr.isatty(), wait=not no_wait,
                                 on_wait=lambda line: click.echo(line, err=True))
        whole = time.perf_counter() - started
        rest = whole - report.seconds  # loading the models, or waiting for another build
        loading = f" (loading the models: {rest:.1f} s)" if rest >= 0.5 else ""
        click.echo(f"{report.summary()}; {whole:.1f} s in all{loading}")

    build(full, started)
    if not watch:
        return
    import threading

    from index.ingest.watch import watch_corpus

    def settled(paths: set[Path]) -> None:
        click.echo(
            f"{len(paths)} file{'s' * (len(paths) != 1)} changed in {obj.settings.corpus_dir}: rebuilding",
            err=True,
        )
        try:
            build(False, time.perf_counter())
        except CasebotError as exc:  # keep watching: the previous index keeps answering
            click.echo(f"error: {exc}", err=True)

    click.echo(f"watching {obj.settings.corpus_dir} (Ctrl-C to stop)", err=True)
    try:
        watch_corpus(obj.settings.corpus_dir, settled, threading.Event())
    except KeyboardInterrupt:
        pass


@index.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def index_status(obj: Context, as_json: bool) -> None:
    """Documents, chunks, model, age and size of the current index."""
    from index.store.builds import serving_status

    store = obj.settings.open_store()
    status, damaged = serving_status(store)
    if damaged:
        click.echo(f"warning: the current build cannot be read ({damaged}); questions are answered from the "
                   f"previous build below until the next `python -m bot index build` repairs it", err=True)
    m = status.manifest
    data = {
        "store": store.describe(), "path": str(status.path), "documents": m.documents, "chunks": m.chunks,
        "vectors": m.chunks,
        "model": m.model, "dimension": m.dimension, "vector_index": m.vector_index, "built": m.created,
        "age_seconds": round(status.age_seconds), "size_bytes": status.size_bytes,
        "word_pieces": m.token_pieces, "damaged": damaged,
    }
    if as_json:
        click.echo(json.dumps(data))
        return
    pieces = (f"{m.token_pieces} word-piece vectors, 8-bit" if m.token_pieces
              else "not stored (read by the model per question)")
    click.echo(
        f"index      {data['path']}\n"
        f"documents  {m.documents}\nchunks     {m.chunks}\nvectors    {m.chunks} ({m.vector_index})\n"
        f"pieces     {pieces}\n"
        f"model      {m.model}, {m.dimension} dimensions\n"
        f"built      {m.created} ({_age(status.age_seconds)} ago)"
        + (f"\nsize       {status.size_bytes / 2**20:.1f} MiB" if status.size_bytes else "")
        + f"\nstore      {data['store']}"
    )


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


cli.add_command(eval_command)
cli.add_command(eval_followups)


# -- chat platforms -------------------------------------------------------------------------

@cli.command()
@click.argument("platform", type=click.Choice(["matrix", "discord"]))
@click.pass_obj
def run(obj: Context, platform: str) -> None:
    """Run the bot on PLATFORM until interrupted."""
    obj.settings.require_platform(platform)  # before the seconds of loading the models
    _check_folders(obj.settings, corpus_needed=False)
    _serving()
    if platform == "matrix":
        from bot.adapters.matrix.run import main
    else:
        from bot.adapters.discord.run import main
    sys.exit(main(obj.settings))


@cli.group()
def discord() -> None:
    """Discord administration."""


@discord.command("sync")
@click.option("--guild", type=int, default=None, help="Sync to one guild (instant) instead of globally.")
@click.pass_obj
def discord_sync(obj: Context, guild: int | None) -> None:
    """Register the slash commands with Discord (rate-limited: run it when commands change)."""
    from bot.adapters.discord.run import sync_commands

    sys.exit(sync_commands(obj.settings, guild))


def main() -> None:
    """``casebot`` (the installed command), ``python -m bot`` and ``./dev``: one program, one name."""
    cli(prog_name="casebot")


if __name__ == "__main__":
    main()
