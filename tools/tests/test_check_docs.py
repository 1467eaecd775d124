"""tools/check_docs.py on a small repository made here: it must report each broken link and each
failing runnable block, and only those, and leave the tree as it found it."""
import subprocess
import sys
from pathlib import Path

CHECKER = Path(__file__).resolve().parent.parent / "check_docs.py"

README = """# Demo

See [the guide](docs/guide.md), [its setup](docs/guide.md#set-up-in-two-steps),
[its snake](docs/guide.md#the-snake_case-step),
![a picture](docs/missing.png), [a heading here](#demo), [none here](#nowhere),
[the web](https://example.com/x) and `[not a link](nowhere.md)`.

```sh
[also not a link](nowhere.md)
```

<!-- runnable -->
```sh
echo made > output.txt
echo spaced > "with space.txt"
mkdir -p made/deeper && echo x > made/deeper/file.txt
test -f docs/guide.md && test -f notes.txt
```

<!-- runnable -->
```python
import sys
sys.exit(3)
```

<!-- runnable -->
```sh
echo changed >> docs/guide.md
```

```sh
exit 1  # not marked runnable: never run
```

<!-- runnable -->

```sh
exit 1  # a marker with a gap: reported, not run
```
"""

GUIDE = """# Guide

## Set up in two steps

## The `snake_case` step

[back](../README.md) and [broken](../nothing/here.md).
"""


def make_repo(root: Path):
    (root / "docs").mkdir()
    (root / "README.md").write_text(README)
    (root / "docs" / "guide.md").write_text(GUIDE)
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "docs"],
    ):
        subprocess.run(command, cwd=root, check=True)


def run_checker(root: Path, *flags):
    return subprocess.run(
        [sys.executable, str(CHECKER), *flags, str(root)],
        capture_output=True,
        text=True,
    )


def test_reports_exactly_the_broken_links_and_failing_blocks(tmp_path):
    make_repo(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")  # untracked, there before: must stay
    result = run_checker(tmp_path)
    failures = [l for l in result.stdout.splitlines() if l.startswith(("README", "docs"))]
    assert result.returncode == 1, result.stdout + result.stderr
    assert failures == [
        "README.md:35: <!-- runnable --> is not directly above a fence",
        "README.md:5: link to docs/missing.png: no such file",
        "README.md:5: link to #nowhere: no heading #nowhere",
        "docs/guide.md:7: link to ../nothing/here.md: no such file",
        "README.md:21: runnable block failed: exit code 3",
        "README.md:27: runnable block changed docs/guide.md, which was there before",
    ], result.stdout
    assert "8 relative links, 3 runnable blocks run, 6 failures" in result.stdout
    # What the passing block made is moved out of the tree, not deleted; the untracked file that
    # was there before stays.
    assert not (tmp_path / "output.txt").exists()
    assert not (tmp_path / "made").exists()
    trash = list((tmp_path / "target" / "check_docs-trash").rglob("*.txt"))
    assert sorted(p.name for p in trash) == ["file.txt", "output.txt", "with space.txt"], trash
    assert not (tmp_path / "with space.txt").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_a_true_tree_passes(tmp_path):
    make_repo(tmp_path)
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n[back](../README.md)\n")
    (tmp_path / "README.md").write_text(
        "# Demo\n\n[guide](docs/guide.md#guide)\n\n<!-- runnable -->\n```bash\ntrue\n```\n"
    )
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "fixed"],
                   cwd=tmp_path, check=True)
    result = run_checker(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 relative links, 1 runnable blocks run, 0 failures" in result.stdout


def test_a_folder_below_the_top_is_refused(tmp_path):
    make_repo(tmp_path)
    result = run_checker(tmp_path / "docs")
    assert result.returncode == 2 and "is not the top of its git repository" in result.stdout
