"""The source distribution carries what a user of a release needs besides the package: the license, the
docs, the examples and the notebook."""

import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_sdist_carries_the_license_docs_examples_and_notebook(tmp_path):
    # --no-isolation: build with the setuptools already installed (no index needed; an sdist needs no
    # wheel package and any recent setuptools, so their version checks are skipped)
    command = [
        sys.executable,
        "-m",
        "build",
        "--sdist",
        "--no-isolation",
        "--skip-dependency-check",
        "--outdir",
        str(tmp_path),
        str(ROOT),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    [archive] = tmp_path.glob("ecoptigen-*.tar.gz")
    with tarfile.open(archive) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
        license_text = sdist.extractfile(f"{archive.name[: -len('.tar.gz')]}/LICENSE").read().decode()
    wanted = {"LICENSE", "README.md", "CHANGELOG.md", "examples/humaneval_tune.py", "notebooks/humaneval_tune.ipynb"}
    wanted |= {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")}
    assert wanted <= names, sorted(wanted - names)
    assert "MIT License" in license_text and "the ecoptigen authors" in license_text
