"""A getopt_long work-alike for the Slurm-named submit commands (sbatch, scancel).

Slurm's commands parse with glibc's getopt_long, and users (and tools such as submitit) rely on
its details: bundled short options (`-vvH`), attached values (`-n4`, `-tfoo`), `--opt=value` and
`--opt value`, unambiguous prefixes of long options (`--part=gpu`), optional arguments that are
only ever attached (`--nice`, `--nice=5`), `--` to end the options, and either GNU permutation
(scancel: `scancel 12 -v`) or stopping at the first operand (sbatch's "+" mode: what follows the
script belongs to the script). Errors carry glibc 2.36's exact words.

The stdlib `getopt` does not do prefix matching and imports gettext and re; argparse and click
cost more than a whole sbatch call may (see DESIGN.md §5), so this is a small hand-written scanner.

    table = OptionTable("J:p:H", [("job-name", REQUIRED, "J"), ("hold", NO_ARGUMENT, "H")])
    options, operands = table.parse(["-HJx", "--job=y", "script.sh"], stop_at_operand=True)
    # options == [("H", None), ("J", "x"), ("J", "y")], operands == ["script.sh"]
"""
from __future__ import annotations

NO_ARGUMENT = 0
REQUIRED = 1
OPTIONAL = 2


class GetoptError(Exception):
    """A malformed command line. `text` is glibc's message without the `prog: ` prefix; the
    command prints `prog: text` and its own `Try "prog --help"` line."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class OptionTable:
    """Short option letters in getopt's spec syntax (`x` flag, `x:` required, `x::` optional)
    and long options as (name, has_arg, key) in the command's table order (the order glibc
    lists ambiguous candidates in). A long option's key is what `parse` reports for it, usually
    the letter of its short twin; long options sharing key and has_arg are aliases."""

    __slots__ = ("short", "longs", "exact")

    def __init__(self, shortopts: str, longopts: list[tuple[str, int, str]] | tuple) -> None:
        self.short: dict[str, int] = _short_table(shortopts)
        self.longs = tuple(longopts)
        self.exact = {name: (name, has_arg, key) for name, has_arg, key in self.longs}

    def parse(self, argv: list[str], *, stop_at_operand: bool) -> tuple[list[tuple[str, str | None]], list[str]]:
        """(options as (key, value or None), operands). Raises GetoptError at the first error,
        as the Slurm commands exit on getopt's first complaint."""
        options: list[tuple[str, str | None]] = []
        operands: list[str] = []
        index, count = 0, len(argv)
        while index < count:
            word = argv[index]
            index += 1
            if word == "--":
                operands.extend(argv[index:])
                break
            if word[:1] != "-" or word == "-":
                if stop_at_operand:
                    operands.append(word)
                    operands.extend(argv[index:])
                    break
                operands.append(word)
                continue
            if word[1] == "-":
                index = self._long(word[2:], argv, index, options)
            else:
                index = self._shorts(word, argv, index, options)
        return options, operands

    def _long(self, body: str, argv: list[str], index: int, options: list) -> int:
        name, eq, attached = body.partition("=")
        found = self.exact.get(name)
        if found is None:
            found = self._by_prefix(name, body)
        long_name, has_arg, key = found
        if eq:
            if has_arg == NO_ARGUMENT:
                raise GetoptError(f"option '--{long_name}' doesn't allow an argument")
            options.append((key, attached))
        elif has_arg == REQUIRED:
            if index >= len(argv):
                raise GetoptError(f"option '--{long_name}' requires an argument")
            options.append((key, argv[index]))
            index += 1
        else:
            options.append((key, None))
        return index

    def _by_prefix(self, name: str, body: str) -> tuple[str, int, str]:
        # glibc: the first prefix match wins unless a later one differs from it in has_arg or
        # key; then every such differing match (and the first) is listed as a possibility.
        first = None
        ambiguous: list[str] = []
        for entry in self.longs:
            if not entry[0].startswith(name):
                continue
            if first is None:
                first = entry
            elif entry[1] != first[1] or entry[2] != first[2]:
                if not ambiguous:
                    ambiguous.append(first[0])
                ambiguous.append(entry[0])
        if first is None:
            raise GetoptError(f"unrecognized option '--{body}'")
        if ambiguous:
            listed = " ".join(f"'--{n}'" for n in ambiguous)
            raise GetoptError(f"option '--{body}' is ambiguous; possibilities: {listed}")
        return first

    def _shorts(self, word: str, argv: list[str], index: int, options: list) -> int:
        position = 1
        while position < len(word):
            letter = word[position]
            position += 1
            has_arg = self.short.get(letter)
            if has_arg is None:
                raise GetoptError(f"invalid option -- '{letter}'")
            if has_arg == NO_ARGUMENT:
                options.append((letter, None))
                continue
            rest = word[position:]
            if rest:
                options.append((letter, rest))
            elif has_arg == OPTIONAL:
                options.append((letter, None))
            elif index < len(argv):
                options.append((letter, argv[index]))
                index += 1
            else:
                raise GetoptError(f"option requires an argument -- '{letter}'")
            break
        return index


def _short_table(spec: str) -> dict[str, int]:
    table: dict[str, int] = {}
    position = 0
    if spec[:1] in ("+", "-"):
        position = 1
    while position < len(spec):
        letter = spec[position]
        position += 1
        has_arg = NO_ARGUMENT
        if spec[position:position + 2] == "::":
            has_arg, position = OPTIONAL, position + 2
        elif spec[position:position + 1] == ":":
            has_arg, position = REQUIRED, position + 1
        if letter not in (":", ";", "-"):
            table[letter] = has_arg
    return table
