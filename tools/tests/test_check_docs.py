"""tools/check_docs.py on a small repository made here: it must report each broken link and each
failing runnable block, and only those, and leave the tree as it found it."""
import subprocess
import sys
from pathlib import Path

CHECKER = Path(__file__).resolve().parent.parent / "check_docs.py"

README = """# Demo

See [the guide](docs/guide.md), [its setup](docs/guide.md#set-up-in-two-steps),
![a picture](docs/missing.png), [a heading here](#demo), [none here](#nowhere),
[the web](https://example.com/x) and `[not a link](nowhere.md)`.

```sh
[also not a link](nowhere.md)
```

<!-- runnable -->
```sh
echo made > output.txt
mkdir -p made/deeper && echo x > made/deeper/file.txt
test -f docs/guide.md
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
"""

GUIDE = """# Guide

## Set up in two steps

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
    result = run_checker(tmp_path)
    failures = [l for l in result.stdout.splitlines() if l.startswith(("README", "docs"))]
    assert result.returncode == 1, result.stdout + result.stderr
    assert failures == [
        "README.md:4: link to docs/missing.png: no such file",
        "README.md:4: link to #nowhere: no heading #nowhere",
        "docs/guide.md:5: link to ../nothing/here.md: no such file",
        "README.md:19: runnable block failed: exit code 3",
        "README.md:25: runnable block changed the tracked file docs/guide.md",
    ], result.stdout
    assert "7 relative links, 3 runnable blocks run, 5 failures" in result.stdout
    # What the passing block made is gone; the tracked file it did not touch is as it was.
    assert not (tmp_path / "output.txt").exists()
    assert not (tmp_path / "made").exists()


def test_a_true_tree_passes(tmp_path):
    make_repo(tmp_path)
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n[back](../README.md)\n")
    (tmp_path / "README.md").write_text(
        "# Demo\n\n[guide](docs/guide.md#guide)\n\n<!-- runnable -->\n```bash\ntrue\n```\n"
    )
    subprocess.run(["git", "commit", "-qam", "fixed", "--author", "t <t@t>"], cwd=tmp_path,
                   check=True, env={"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                                    "PATH": "/usr/bin:/bin"})
    result = run_checker(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 relative links, 1 runnable blocks run, 0 failures" in result.stdout
