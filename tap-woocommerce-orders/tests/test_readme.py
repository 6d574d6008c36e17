from pathlib import Path

from click.testing import CliRunner

from tap_woocommerce_orders.status_mapping import status_table_markdown
from tap_woocommerce_orders.tap import TapWooCommerceOrders

README = Path(__file__).parent.parent / "README.md"


def between(text: str, name: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def about_settings_table() -> str:
    result = CliRunner().invoke(TapWooCommerceOrders.cli, ["--about", "--format=markdown"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    table = []
    for line in lines[lines.index("## Settings") + 1 :]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    return "\n".join(table)


def test_readme_settings_table_matches_the_about_output() -> None:
    assert between(README.read_text(encoding="utf-8"), "settings") == about_settings_table()


def test_readme_status_table_matches_the_mapping_code() -> None:
    assert between(README.read_text(encoding="utf-8"), "status-mapping") == status_table_markdown()
