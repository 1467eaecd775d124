#!/usr/bin/env python3
"""Keeps the docs true: every relative link in README.md, docs/ and the examples' READMEs resolves
(a file or folder, and a heading where it names one), and every fenced block the docs mark as
runnable exits 0.

A block is runnable when the line above its fence is `<!-- runnable -->` (invisible on GitHub).
`sh`/`bash` blocks run in bash with `set -euo pipefail`, `python` blocks in `python3`, each from
the repository's root with `target/release` and `target/py/bin` first on the PATH (the CLI as
`cargo run --release` builds it, the wheel as tools/test.sh installs it). A block must leave the
tree as it found it: what it creates is moved out after it (into target/check_docs-trash/, never
deleted, so a file someone else saved meanwhile is not lost), and a file it changes that was
there before fails it. A marker not directly above a fence fails too.

    tools/check_docs.py [--links-only] [ROOT]

Exit 0 when everything holds; otherwise one line per failure (file:line: what) and exit 1.
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

RUNNABLE = "<!-- runnable -->"
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
# [text](target "title") and ![alt](target); [label]: target reference definitions.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
BLOCK_TIMEOUT_S = 30 * 60
TRASH = "target/check_docs-trash"


def documents(root):
    """README.md, docs/*.md and every README.md under examples/ (dependencies' excepted)."""
    found = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    for path in sorted((root / "examples").rglob("README.md")):
        if "node_modules" not in path.parts:
            found.append(path)
    return [p for p in found if p.is_file()]


def parse(text):
    """(prose lines with their numbers, fenced blocks, line numbers of markers above no fence)
    of a Markdown text. A block is (line number of its fence, info string, body, marked
    runnable)."""
    prose, blocks, stray = [], [], []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            if lines[i].strip() == RUNNABLE and not (i + 1 < len(lines) and FENCE.match(lines[i + 1])):
                stray.append(i + 1)
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        marker, info = fence.group(2), fence.group(3).strip()
        runnable = any(l.strip() == RUNNABLE for l in lines[max(0, i - 1):i])
        body, j = [], i + 1
        while j < len(lines):
            close = FENCE.match(lines[j])
            if close and close.group(2).startswith(marker) and not close.group(3).strip():
                break
            body.append(lines[j])
            j += 1
        blocks.append((i + 1, info, "\n".join(body) + "\n", runnable))
        i = j + 1
    return prose, blocks, stray


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped (letters, marks, digits,
    underscores, hyphens and spaces kept), spaces to hyphens."""
    text = re.sub(r"[`*]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    kept = "".join(
        c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN"
    )
    return kept.replace(" ", "-")


_ANCHORS = {}


def anchors(path):
    """The anchors of a Markdown file's headings."""
    cache = _ANCHORS
    if path not in cache:
        prose = parse(path.read_text(encoding="utf-8"))[0]
        seen, found = {}, set()
        for _, line in prose:
            heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if heading:
                base = slug(heading.group(1))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
        cache[path] = found
    return cache[path]


def check_links(root, path):
    """(failures, how many relative links) of one document."""
    failures, checked = [], 0
    prose, _, stray = parse(path.read_text(encoding="utf-8"))
    for number in stray:
        failures.append(f"{path.relative_to(root)}:{number}: {RUNNABLE} is not directly above a fence")
    for number, line in prose:
        line = CODE_SPAN.sub("", line)
        targets = [m.group(1) for m in INLINE_LINK.finditer(line)]
        reference = REFERENCE.match(line)
        if reference:
            targets.append(reference.group(1))
        for target in targets:
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # http:, https:, mailto:: not fetched (no network here)
            checked += 1
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.relative_to(root)}:{number}"
            if file_part and not resolved.exists():
                failures.append(f"{where}: link to {target}: no such file")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                failures.append(f"{where}: link to {target}: no heading #{anchor}")
    return failures, checked


def state(root):
    """Every path git reports as changed or untracked (not ignored), with a hash of its bytes
    (None for a folder git lists whole, such as a nested repository)."""
    out = subprocess.run(
        ["git", "status", "--porcelain", "-z", "--untracked-files=all"],
        cwd=root, check=True, capture_output=True,
    ).stdout.decode()
    entries, found = out.split("\0"), {}
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        code, name = entry[:2], entry[3:]
        if code[0] in "RC":
            i += 1  # a rename's old name follows
        if name.startswith(TRASH + "/"):
            continue
        path = root / name
        digest = hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else None
        found[name] = (code, digest)
    return found


def move_out(root, name):
    """Moves what a block created into target/check_docs-trash/ (never deletes it), then the
    folders it made that are now empty."""
    source = root / name
    trash = root / TRASH / str(os.getpid()) / name.rstrip("/")
    trash.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(trash))
    for folder in source.parents:
        if folder == root or not folder.is_dir() or any(folder.iterdir()):
            break
        folder.rmdir()


def run_block(root, path, number, info, body):
    language = info.split()[0] if info else ""
    command = {
        "sh": ["bash", "-euo", "pipefail", "-c", body],
        "bash": ["bash", "-euo", "pipefail", "-c", body],
        "python": ["python3", "-c", body],
    }.get(language)
    where = f"{path.relative_to(root)}:{number}"
    if command is None:
        return [f"{where}: a runnable block must be sh, bash or python, not {language!r}"]
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        [str(root / "target" / "release"), str(root / "target" / "py" / "bin"), env["PATH"]]
    )
    before = state(root)
    print(f"== {where}: {body.strip().splitlines()[0]}", flush=True)
    # Its own process group, so a timeout stops what it started too.
    child = subprocess.Popen(command, cwd=root, env=env, start_new_session=True)
    try:
        code = child.wait(timeout=BLOCK_TIMEOUT_S)
        failure = None if code == 0 else f"exit code {code}"
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        failure = f"still running after {BLOCK_TIMEOUT_S} s"
    failures = [f"{where}: runnable block failed: {failure}"] if failure else []
    for name, (code, digest) in sorted(state(root).items()):
        if name not in before and code == "??":
            move_out(root, name)
        elif before.get(name) != (code, digest):
            failures.append(f"{where}: runnable block changed {name}, which was there before")
    return failures


def main(argv):
    links_only = "--links-only" in argv
    args = [a for a in argv if not a.startswith("--")]
    root = Path(args[0] if args else Path(__file__).resolve().parent.parent).resolve()
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, check=True,
                         capture_output=True, text=True).stdout.strip()
    if Path(top).resolve() != root:
        print(f"check_docs: {root} is not the top of its git repository ({top})")
        return 2
    failures, ran, links = [], 0, 0
    docs = documents(root)
    for path in docs:
        found, checked = check_links(root, path)
        failures += found
        links += checked
    if not links_only:
        for path in docs:
            for number, info, body, runnable in parse(path.read_text(encoding="utf-8"))[1]:
                if runnable:
                    failures += run_block(root, path, number, info, body)
                    ran += 1
    for failure in failures:
        print(failure)
    print(
        f"check_docs: {len(docs)} documents, {links} relative links, {ran} runnable blocks run, "
        f"{len(failures)} failures",
        flush=True,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
