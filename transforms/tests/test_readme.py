"""The README's settings table is the one `map-quickbooks --about --format=markdown` prints."""

import os
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def about_settings_table() -> str:
    output = subprocess.run(
        [sys.executable, "-m", "map_quickbooks.mapper", "--about", "--format=markdown"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    section = output.split("## Settings", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return "\n".join(rows)


def test_readme_settings_table_matches_about_output():
    table = about_settings_table()
    text = README.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    current, after = rest.split(END, 1)
    if os.environ.get("KCONNECTOR_UPDATE_README") == "1":
        text = f"{before}{START}\n{table}\n{END}{after}"
        README.write_text(text, encoding="utf-8")
        current = f"\n{table}\n"
    assert current == f"\n{table}\n"
    assert "| tax_mode |" in table
