"""The student handout holds no solution: not in its notebooks, not in the helper package it ships.

`make student` copies ``course_utils`` next to the student notebooks, so a check that compares an answer with
a written-out reference would hand that reference to every student. These tests build the handout into a
temporary folder, take every solution body from the notebooks and search every file of the handout for it.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools import make_student_version
from tools import notebooks as nbt

FIXTURE = Path(__file__).parent / "fixtures" / "99_fixture_lesson.ipynb"
NOTEBOOKS = sorted(nbt.NOTEBOOKS_DIR.glob("*.ipynb"))
MIN_DISTINCTIVE = 12  # characters (whitespace removed) a one-line solution needs to be searched on its own

#: Package code that holds a solution on purpose, with the reason; every entry must still be needed (tested).
#: Keys: (file in the handout, the exercise function's name).
KNOWN = {
    ("course_utils/training.py", "steps_per_epoch"): "training.steps_per_run, which lessons 06-12 call to size "
    "their training runs, counts whole batches per epoch",
    ("course_utils/training.py", "training_steps"): "training.steps_per_run is the function lesson 06 uses before "
    "asking learners to write it themselves",
    ("course_utils/flow.py", "euler_step"): "flow.euler_step is the sampler lesson 14 runs before its exercises, "
    "and an Euler step has one way to be written",
    ("course_utils/sampling.py", "guidance_mix"): "sampling.guided is the guidance lessons 14 and 15 sample with; "
    "the mix is a one-line formula",
}
TEXT_SUFFIXES = {".py", ".md", ".txt", ".json", ".ipynb", ".cfg", ".toml", ".yml", ".yaml", ".csv", ".rst"}


# --------------------------------------------------------------------------- normalising code


def squeeze(text: str) -> str:
    """``text`` without any whitespace, so that layout and spacing do not hide a copy."""
    return re.sub(r"\s+", "", text)


def without_comment(line: str) -> str:
    """One line of Python without its trailing comment (strings that hold '#' are kept)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return re.sub(r"\s#.*$", "", line)
    for token in tokens:
        if token.type == tokenize.COMMENT:
            return line.strip()[: token.start[1]]
    return line


_TRIVIAL = re.compile(r"^(return)?(\(?[A-Za-z_][\w.]*(,[A-Za-z_][\w.]*)*\)?|[-\d.e+]+|None|True|False|pass)?$")


def significant_lines(body: str) -> list[str]:
    """The lines of a solution that carry it, whitespace removed: no blanks, comments or trivial lines.

    Trivial lines are a bare name, a tuple of names, a literal or ``pass``, each possibly returned
    (``return padded``): they are in every program and give nothing away.
    """
    lines = []
    for line in body.splitlines():
        line = squeeze(without_comment(line))
        if line and not _TRIVIAL.match(line):
            lines.append(line)
    return lines


def haystack_lines(text: str) -> list[str]:
    """The lines of a searched file, whitespace removed, without blank and comment-only lines."""
    lines = []
    for line in text.splitlines():
        line = squeeze(line)
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


# --------------------------------------------------------------------------- what the notebooks solve


@dataclass(frozen=True)
class Solution:
    """One region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` of a notebook."""

    function: str  # the name of the function the solution cell defines (first one)
    where: str
    lines: tuple[str, ...]  # significant lines, whitespace removed
    shortcuts: tuple[str, ...]  # calls the exercise forbids, applied to its own parameters, e.g. np.pad(image,p

    @property
    def one_line(self) -> str | None:
        """The solution's expression when it is one significant line, without ``return``."""
        if len(self.lines) != 1:
            return None
        expression = re.sub(r"^return", "", self.lines[0])
        return expression if len(expression) >= MIN_DISTINCTIVE else None


def _regions(source: str) -> list[str]:
    regions, current = [], None
    for line in source.splitlines():
        if nbt.BEGIN_RE.match(line):
            current = []
        elif nbt.END_RE.match(line):
            regions.append("\n".join(current or []))
            current = None
        elif current is not None:
            current.append(line)
    return regions


def _functions(source: str) -> list[str]:
    """The names of the functions a solution cell defines, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


def _parameters(source: str) -> list[list[str]]:
    """The parameter names of every function a solution cell defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [[a.arg for a in node.args.args] for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]


def solutions(path: Path) -> list[Solution]:
    """Every solution region of a notebook, with the shortcuts its exercise statement forbids."""
    nb = nbt.load(path)
    found = []
    for index in nbt.solution_cells(nb):
        source = nb["cells"][index]["source"]
        statement = ""
        for before in range(index - 1, -1, -1):  # the markdown right above the exercise
            if nb["cells"][before]["cell_type"] != "markdown":
                break
            statement = nb["cells"][before]["source"] + "\n" + statement
        forbidden = re.findall(r"(?:do not|don't|never) use `([\w.]+)(?:\(\))?`", statement, flags=re.IGNORECASE)
        shortcuts = tuple(
            f"{name}({','.join(params[:2])}" for name in forbidden for params in _parameters(source) if params
        )
        names = _functions(source)
        for number, body in enumerate(_regions(source), start=1):
            where = f"{path.name} cell {index} solution {number} ({nbt.first_line(nb['cells'][index])})"
            function = names[number - 1] if number <= len(names) else ""
            found.append(Solution(function, where, tuple(significant_lines(body)), shortcuts))
    return found


# --------------------------------------------------------------------------- searching the handout


def handout_texts(root: Path) -> dict[str, str]:
    """Every text file of the handout by its path; notebooks contribute their cells' sources."""
    texts = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if path.suffix == ".ipynb":
            texts[name] = "\n".join(cell["source"] for cell in nbt.load(path)["cells"])
        elif path.suffix in TEXT_SUFFIXES:
            texts[name] = path.read_text(encoding="utf-8", errors="replace")
        else:
            data = path.read_bytes()
            if b"\0" not in data[:4096]:
                texts[name] = data.decode("utf-8", errors="replace")
    return texts


def _contains_run(lines: list[str], run: tuple[str, ...]) -> bool:
    """True when consecutive ``lines`` contain the lines of ``run`` in order (each as a substring).

    A run shorter than MIN_DISTINCTIVE characters in all (``return x * 2``) is too common to mean a copy.
    """
    if sum(map(len, run)) < MIN_DISTINCTIVE:
        return False
    for start in range(len(lines) - len(run) + 1):
        if all(part in lines[start + offset] for offset, part in enumerate(run)):
            return True
    return False


def leaks(root: Path, found: list[Solution], known: dict[tuple[str, str], str] | None = None) -> list[str]:
    """Where a file under ``root`` holds a solution: its run of lines, its one line, or a forbidden shortcut.

    Pairs (file, exercise function) in ``known`` are skipped.
    """
    problems = []
    for name, text in handout_texts(root).items():
        lines, flat = haystack_lines(text), squeeze(text)
        for solution in found:
            if known and (name, solution.function) in known:
                continue
            if solution.lines and _contains_run(lines, solution.lines):
                problems.append(f"{name} holds the solution of {solution.where}: {' / '.join(solution.lines)}")
            elif solution.one_line and solution.one_line in flat:
                problems.append(f"{name} holds the one-line solution of {solution.where}: {solution.one_line}")
            for shortcut in solution.shortcuts:
                if re.search(re.escape(shortcut) + r"[,)]", flat):
                    problems.append(f"{name} holds the shortcut the exercise forbids, {solution.where}: {shortcut})")
    return problems


@pytest.fixture(scope="module")
def handout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The student version of every notebook, with the package it ships, built as `make student` does."""
    out = tmp_path_factory.mktemp("handout")
    assert make_student_version.main(["--out", str(out)]) == 0
    return out


def test_every_notebook_has_solutions_to_look_for() -> None:
    for path in NOTEBOOKS:
        found = solutions(path)
        assert found and all(s.lines for s in found), f"{path.name}: a solution region with no significant line"


def test_the_handout_holds_no_solution(handout: Path) -> None:
    found = [s for path in NOTEBOOKS for s in solutions(path)]
    problems = leaks(handout, found, KNOWN)
    assert not problems, "The student version gives solutions away:\n" + "\n".join(problems)


def test_every_known_overlap_is_still_there(handout: Path) -> None:
    found = [s for path in NOTEBOOKS for s in solutions(path)]
    flagged = {(p.split(" ")[0], s.function) for s in found for p in leaks(handout, [s])}
    stale = sorted(set(KNOWN) - flagged)
    assert not stale, f"KNOWN lists overlaps the handout no longer has; remove them: {stale}"


def test_the_handout_copies_nothing_from_tools_or_tests(handout: Path) -> None:
    names = {p.relative_to(handout).parts[0] for p in handout.rglob("*")}
    assert names <= {"notebooks", "course_utils", "data"}, names
    ours = {p.read_bytes() for folder in ("tools", "tests") for p in (nbt.PROJECT_ROOT / folder).rglob("*.py")}
    copied = [p.relative_to(handout).as_posix() for p in handout.rglob("*.py") if p.read_bytes() in ours]
    assert not copied, f"files of tools/ or tests/ in the handout: {copied}"


# --------------------------------------------------------------------------- the search itself


def test_significant_lines_skip_blanks_comments_and_trivial_lines() -> None:
    body = "    h, w = image.shape\n\n    # make room\n    out = np.zeros((h + 2, w))  # zeros\n    return out\n"
    assert significant_lines(body) == ["h,w=image.shape", "out=np.zeros((h+2,w))"]
    assert significant_lines("    return x\n    pass\n    return 0.5\n") == []
    assert significant_lines('    s = "a # b"\n') == ['s="a#b"']


def test_the_search_finds_copies_in_any_layout(tmp_path: Path) -> None:
    multi = Solution("f", "multi", tuple(significant_lines("a = f(x)\nb = g(a,  x)\nreturn a + b")), ())
    single = Solution("g", "single", tuple(significant_lines("return images.astype(np.float32) / 127.5 - 1.0")), ())
    shortcut = Solution("zero_pad", "pad", ("x=1",), ("np.pad(image,p",))
    (tmp_path / "run.py").write_text("def ref(x):\n    a = f( x )\n\n    b = g(a, x)  # same\n    return a+b\n")
    (tmp_path / "one.py").write_text("expected = lambda images: images.astype( np.float32 )/127.5 - 1.0\n")
    (tmp_path / "pad.py").write_text("def ref(image, p):\n    return np.pad(image,\n                  p)\n")
    (tmp_path / "fine.py").write_text("a = f(x)\nc = h(a)\nb = g(a, x)\nnp.pad(image, (p, 0))\n")
    problems = leaks(tmp_path, [multi, single, shortcut])
    assert [p.split(" ")[0] for p in problems] == ["one.py", "pad.py", "run.py"], problems
    assert len(leaks(tmp_path, [multi, single, shortcut], {("pad.py", "zero_pad"): "allowed"})) == 2


def test_the_search_reads_the_notebooks_solutions() -> None:
    found = {s.function: s for s in solutions(nbt.NOTEBOOKS_DIR / "01_convolution_from_scratch.ipynb")}
    pad = found["zero_pad"]
    assert "padded[p:p+h,p:p+w]=image" in pad.lines
    assert pad.shortcuts == ("np.pad(image,p",)
    size = found["conv_output_size"]
    assert size.one_line == "(n+2*p-d*(k-1)-1)//s+1"


def test_the_stubs_are_not_taken_for_solutions(tmp_path: Path) -> None:
    out = tmp_path / "student"
    assert make_student_version.main(["--out", str(out), "--no-package", *map(str, NOTEBOOKS), str(FIXTURE)]) == 0
    found = [s for path in [*NOTEBOOKS, FIXTURE] for s in solutions(path)]
    stubs = [line for s in found for line in s.lines if "NotImplementedError" in line or "YOURCODEHERE" in line]
    assert not stubs
    assert not leaks(out / "notebooks", found), "the student notebooks themselves hold a solution"


def test_the_handout_checks_run_on_their_own_stored_results(handout: Path) -> None:
    """The copied package finds its stored results: a check in the handout accepts a right answer."""
    import subprocess
    import sys

    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from course_utils import checks; "
        "assert checks.__file__.startswith(sys.argv[1]), checks.__file__; "
        "checks.check_steps_per_epoch(lambda n, b: n // b); checks.check_zero_pad(lambda image, p: __import__("
        "'numpy').pad(image, p))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(handout)], capture_output=True, text=True, cwd=handout)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("passes") == 2, result.stdout
    assert sorted(p.name for p in (handout / "course_utils" / "checks" / "data").glob("*.json"))
