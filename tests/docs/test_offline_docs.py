"""The documentation site works with no internet: no script or style sheet from a CDN."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_site_assets_are_local():
    config = (ROOT / "mkdocs.yml").read_text()
    assets = re.findall(r"^\s+-\s+(\S+)", config.split("extra_javascript:", 1)[1].split("\n\n", 1)[0], re.M)
    assert assets, "mkdocs.yml lists no extra_javascript"
    remote = [a for a in assets if "://" in a or a.startswith("//")]
    assert not remote, f"scripts loaded from the network: {remote}"
    for asset in assets:
        assert (ROOT / "docs" / asset).is_file(), asset
    fonts = ROOT / "docs/javascripts/mathjax/output/chtml/fonts/woff-v2"
    assert any(fonts.glob("MathJax_Main-Regular.woff")), "the MathJax fonts are not shipped"
