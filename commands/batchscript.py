"""The batch script as sbatch sees it: the sanity checks and the `#SBATCH` directive reader.

Behaviour observed on Slurm 22.05 (each case was run through /usr/bin/sbatch):
- A directive starts at column 0 with `#SBATCH` (or `#SLURM`, which works but warns once). The
  words of every directive line are gathered into ONE argument vector that goes through getopt
  once, so `#SBATCH -J` on one line takes its value from the next directive line.
- Reading stops at the first line that is neither blank nor a comment.
- Words split like a simplified shell: quotes group, a backslash takes the next character
  literally (but an unquoted `\\ ` still ends the word), an unquoted `#` ends the line, and an
  empty word (`""`) also ends the line. An unmatched quote is fatal, exit 1.
- Script checks (empty, only whitespace, no `#!`, NUL byte, DOS line breaks) exit 1.
"""
from __future__ import annotations

# C isspace() in the C locale: Slurm's splitter knows nothing of Unicode spaces.
_SPACE = frozenset(" \t\n\v\f\r")
_NOT_A_SCRIPT = (
    "This does not look like a batch script.  The first",
    "line must start with #! followed by the path to an interpreter.",
    "For instance: #!/bin/sh",
)
SLURM_PREFIX_WARNING = ("Change from #SLURM to #SBATCH in your script and verify the options "
                        "are valid in sbatch")


class ScriptError(Exception):
    """A script sbatch refuses. `lines` are the messages without the `sbatch: error: ` prefix
    (`fatal` says whether Slurm prints them as `fatal:`); `exit_code` is what sbatch exits with."""

    def __init__(self, *lines: str, exit_code: int = 1, fatal: bool = False) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.exit_code = exit_code
        self.fatal = fatal


def check_script(text: str) -> None:
    """Raise ScriptError for a script Slurm's sbatch would not submit."""
    if not text:
        raise ScriptError("Batch script is empty!")
    if all(ch in _SPACE for ch in text):
        raise ScriptError("Batch script contains only whitespace!")
    if not text.startswith("#!"):
        raise ScriptError(*_NOT_A_SCRIPT)
    if "\0" in text:
        raise ScriptError("The Slurm controller does not allow scripts that",
                          "contain a NULL character '\\0'.")
    if "\r\n" in text:
        raise ScriptError("Batch script contains DOS line breaks (\\r\\n)",
                          "instead of expected UNIX line breaks (\\n).")


def wrap_script(command: str) -> str:
    """The script sbatch --wrap submits."""
    return f"#!/bin/sh\n# This script was created by sbatch --wrap.\n\n{command}\n"


def directive_words(text: str, source: str) -> tuple[list[str], bool]:
    """(the words of all `#SBATCH`/`#SLURM` directives in order, whether `#SLURM` was used).
    `source` names the script in the unmatched-quote message (the path as given, or `stdin`)."""
    words: list[str] = []
    used_slurm_prefix = False
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith("#SBATCH"):
            rest = line[7:]
        elif line.startswith("#SLURM"):
            rest = line[6:]
            used_slurm_prefix = True
        else:
            stripped = line.lstrip(" \t\n\v\f\r")
            if not stripped or stripped[0] == "#":
                continue
            break
        words.extend(split_directive(rest, source, number))
    return words, used_slurm_prefix


def split_directive(rest: str, source: str = "stdin", line_number: int = 0) -> list[str]:
    """The words of one directive line's text after the `#SBATCH` prefix."""
    words: list[str] = []
    position, length = 0, len(rest)
    while True:
        segment = position  # Slurm quotes the line from the end of the previous word
        while position < length and rest[position] in _SPACE:
            position += 1
        if position >= length:
            return words
        chars: list[str] = []
        quote = ""
        escaped = False
        while position < length and (quote or rest[position] not in _SPACE):
            char = rest[position]
            position += 1
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
                continue
            elif quote:
                if char == quote:
                    quote = ""
                    continue
            elif char in "\"'":
                quote = char
                continue
            elif char == "#":  # an unquoted, unescaped '#' comments out the rest of the line
                position = length
                break
            chars.append(char)
        if quote:
            raise ScriptError(f"{source}: line {line_number}: Unmatched `{quote}` in [{rest[segment:]}]", fatal=True)
        if not chars:  # Slurm's splitter reads an empty word as the end of the line
            return words
        words.append("".join(chars))
