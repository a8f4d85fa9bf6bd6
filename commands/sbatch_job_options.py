"""sbatch options that are recorded in the job and acted on later: --signal, --deadline,
--mail-type, --priority, the per-GPU requests, --export-file and --test-only.

Each conversion returns (JobSpec field, value) updates or raises OptionValueError with Slurm's
message and exit code, as observed on Slurm 22.05.8:
    --signal=FOO / =0 / =USR1@abc / =USR1@65536   -> "Invalid --signal specification", 255
    --deadline=foo     -> "Invalid time specification (pos=0): foo" then
                          "sbatch: error: Invalid --deadline specification", 255
    --mail-type=FOO    -> "Invalid --mail-type specification", 255 (one known word is enough)
    --priority=-5      -> "Priority must be >= 0", 255; "abc" is taken as 0 (strtoul)
    --cpus-per-gpu=abc -> 'Invalid numeric value "abc" for --cpus-per-gpu.', 1
    --mem-per-gpu=abc  -> "Invalid --mem-per-gpu specification", 255
    --export-file=/x   -> "Could not open user environment file /x", 1
"""
from __future__ import annotations

# The signal names Slurm's sig_name2num knows (with or without SIG); numbers are taken as given.
SIGNAL_NUMBERS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ABRT": 6, "KILL": 9, "USR1": 10, "USR2": 12, "ALRM": 14,
    "TERM": 15, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24,
}
DEFAULT_SIGNAL_TIME = 60          # seconds before the time limit, when `@secs` is not given
MAX_SIGNAL_TIME = 0xFFFF
PRIORITY_LIMIT = 4294967294       # NO_VAL - 1: Slurm refuses it and above

# --mail-type words, in the order scontrol lists them (observed: ALL shows
# INVALID_DEPEND,BEGIN,END,FAIL,REQUEUE,STAGE_OUT; ARRAY_TASKS comes first, TIME_LIMIT last)
MAIL_TYPES = ("ARRAY_TASKS", "INVALID_DEPEND", "BEGIN", "END", "FAIL", "REQUEUE", "STAGE_OUT",
              "TIME_LIMIT_90", "TIME_LIMIT_80", "TIME_LIMIT_50", "TIME_LIMIT")
MAIL_ALL = ("INVALID_DEPEND", "BEGIN", "END", "FAIL", "REQUEUE", "STAGE_OUT")


def _error(message: str, code: int = 255):
    from commands.sbatch_options import OptionValueError
    return OptionValueError(message, code)


def _strtol(text: str) -> tuple[int | None, str]:
    """C strtol in base 10: (value or None when no digits, the rest of the text)."""
    body = text.lstrip(" \t\n\v\f\r")
    sign = -1 if body[:1] == "-" else 1
    digits = body[1:] if body[:1] in "+-" and body else body
    end = 0
    while end < len(digits) and "0" <= digits[end] <= "9":
        end += 1
    if not end:
        return None, text
    return sign * int(digits[:end]), digits[end:]


def parse_signal(value: str) -> tuple[int, int, str]:
    """(signal number, seconds before the end, flags 'B'/'R'/'RB'/'') of `[{R|B}:]SIG[@secs]`."""
    flags, colon, rest = value.partition(":")
    if not colon:
        flags, rest = "", value
    elif not flags or any(ch not in "RBrb" for ch in flags):
        raise _error("Invalid --signal specification")
    name, at, time_text = rest.partition("@")
    number, tail = _strtol(name)
    if number is None:
        word = name.strip().upper()
        number = SIGNAL_NUMBERS.get(word[3:] if word.startswith("SIG") else word)
        tail = ""
    if number is None or number == 0 or tail:
        raise _error("Invalid --signal specification")
    seconds = DEFAULT_SIGNAL_TIME
    if at:
        parsed, tail = _strtol(time_text)
        seconds = parsed if parsed is not None else 0
        if tail or seconds < 0 or seconds > MAX_SIGNAL_TIME:
            raise _error("Invalid --signal specification")
    return number, seconds, "".join(sorted(set(flags.upper()), key="RB".index))


def _signal(value, cwd, now):
    number, seconds, flags = parse_signal(value)
    return [("signal", number), ("signal_time", seconds), ("signal_flags", flags)]


def time_error_position(text: str, now: float) -> int:
    """Where Slurm's time parser reports it stopped in a bad time specification: the start of
    the first word that does not parse (after `now+` for a bad offset)."""
    from conf.timefmt import parse_timestamp
    offset = 0
    words = text.split(" ")
    for index, word in enumerate(words):
        if word:
            try:
                parse_timestamp(" ".join(w for w in words[:index + 1] if w), now)
            except ValueError:
                return offset + 4 if word.lower().startswith("now+") or word.lower().startswith("now-") else offset
        offset += len(word) + 1
    return 0


def time_option(option: str, field: str):
    def handler(value, cwd, now):
        from conf.timefmt import parse_timestamp
        try:
            return [(field, int(parse_timestamp(value, now)))]
        except ValueError:
            from commands.sbatch_options import OptionValueError
            error = OptionValueError(f"Invalid --{option} specification")
            error.preamble = f"Invalid time specification (pos={time_error_position(value, now)}): {value}"
            raise error from None
    return handler


def parse_mail_type(value: str) -> str:
    """The canonical MailType text ('' for NONE); raises when no word is known."""
    chosen: set[str] = set()
    known = False
    for word in value.split(","):
        upper = word.upper()
        if upper == "NONE":
            known, chosen = True, set()
        elif upper == "ALL":
            known = True
            chosen.update(MAIL_ALL)
        elif upper in MAIL_TYPES:
            known = True
            chosen.add(upper)
    if not known:
        raise _error("Invalid --mail-type specification")
    return ",".join(t for t in MAIL_TYPES if t in chosen)


def _mail_type(value, cwd, now):
    return [("mail_type", parse_mail_type(value))]


def _priority(value, cwd, now):
    if value.strip().upper() == "TOP":
        return [("priority", PRIORITY_LIMIT - 1)]
    number, _ = _strtol(value)
    number = number or 0
    if number < 0:
        raise _error("Priority must be >= 0")
    if number >= PRIORITY_LIMIT:
        raise _error(f"Priority must be < {PRIORITY_LIMIT}")
    return [("priority", number)]


def _cpus_per_gpu(value, cwd, now):
    from commands.sbatch_options import parse_positive
    return [("cpus_per_gpu", parse_positive(value, "--cpus-per-gpu"))]


def _mem_per_gpu(value, cwd, now):
    from commands.sbatch_options import fast_memory_mb
    quick = fast_memory_mb(value)
    if quick is None:
        from conf.units import parse_memory_mb
        try:
            quick = parse_memory_mb(value)
        except ValueError:
            raise _error("Invalid --mem-per-gpu specification") from None
    return [("mem_per_gpu_mb", quick)]


def _gpus_per_task(value, cwd, now):
    from conf.units import parse_gres
    try:
        parse_gres("gpu:" + value)
    except ValueError:
        raise _error("Invalid generic resource (gres) specification", 1) from None
    return [("gpus_per_task", value)]


def read_export_file(path: str, cwd: str) -> dict[str, str]:
    """The variables of an --export-file: `NAME=value` records separated by NUL bytes when the
    file has any, else by newlines (sbatch.1)."""
    full = path if path.startswith("/") else f"{cwd.rstrip('/')}/{path}"
    try:
        if path.isascii() and path.isdigit() and int(path) >= 3:   # a file descriptor (sbatch.1)
            import os
            chunks = []
            while chunk := os.read(int(path), 65536):
                chunks.append(chunk)
            data = b"".join(chunks).decode("utf-8", errors="replace")
        else:
            with open(full, "rb") as handle:
                data = handle.read().decode("utf-8", errors="replace")
    except (OSError, ValueError, OverflowError):
        raise _error(f"Could not open user environment file {path}", 1) from None
    records = data.split("\0") if "\0" in data else data.split("\n")
    found = {}
    for record in records:
        name, eq, text = record.partition("=")
        if eq and name:
            found[name] = text
    return found


def _export_file(value, cwd, now):
    return [("export_file_env", read_export_file(value, cwd))]


HANDLERS = {
    "signal": _signal, "deadline": time_option("deadline", "deadline"), "mail-type": _mail_type,
    "priority": _priority, "cpus-per-gpu": _cpus_per_gpu, "mem-per-gpu": _mem_per_gpu,
    "gpus-per-task": _gpus_per_task, "export-file": _export_file,
    "test-only": lambda value, cwd, now: [("test_only", True)],
}
