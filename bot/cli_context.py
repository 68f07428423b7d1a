"""What every command of the command line shares: the settings and the CaseBot they make."""

from __future__ import annotations

import dataclasses

import click

from bot.settings import Settings
from index.models.onnx_model import question_copy_ready
from index.text.shown import shown


class Context:
    """Settings and a lazily created CaseBot (loading the model takes seconds)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._casebot = None

    def casebot(self, open_index: bool = True, progress: bool = False,
                one_question: bool = False, tell: bool = False):  # -> CaseBot
        """The CaseBot; with ``tell``, a line on stderr before the seconds of loading the models and
        before a first build, so a person at a terminal is not left before a blank screen."""
        if self._casebot is None:
            from bot.service import CaseBot

            settings = self.settings
            # One question: the onnxruntime copy when it is ready (no torch to load), else torch, never an
            # export of ten seconds (docs/performance.md)
            if one_question and not question_copy_ready(settings.model_cache_dir):
                settings = dataclasses.replace(settings, question_runtime="torch")
            if tell:
                click.echo("loading the models (5-30 s)…", err=True)
            self._casebot = CaseBot(settings)
            if open_index:
                if tell and self._casebot.store.current_build() is None:
                    click.echo(f"no index yet: building it from {shown(str(settings.corpus_dir))} "
                               "(a few minutes the first time)…", err=True)
                self._casebot.open(build_if_missing=True, progress=progress)
        return self._casebot
