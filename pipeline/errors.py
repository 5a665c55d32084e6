"""Domain errors. The CLI turns each into a one-line message and its exit status."""


def first_line(error: BaseException) -> str:
    """An error's message as one line: its first, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class OnboardError(Exception):
    """Something stopped a batch or a command (exit status 1)."""

    exit_code = 1


class UsageError(OnboardError):
    """The command was called wrongly, or something it needs is missing (exit status 2)."""

    exit_code = 2


class ReferenceFileError(UsageError):
    """The reseller's reference file is unreadable or wrong (exit status 2)."""


class FileRefused(UsageError):
    """An input file cannot be imported at all: unreadable, or missing columns (exit status 2)."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
