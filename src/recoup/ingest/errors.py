"""Errors a seller sees: each names the file, and the line where there is one."""

from __future__ import annotations


class FileProblem(Exception):
    """This file cannot be imported; the workspace is left as it was before it."""

    def __init__(self, name: str, problem: str, line: int | None = None) -> None:
        self.name = name
        self.problem = problem
        self.line = line
        where = f"{name}, line {line}" if line else name
        super().__init__(f"{where}: {problem}")
