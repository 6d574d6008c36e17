"""Installable by strangers: the built distributions, added to a brand-new Meltano project.

The module builds the wheels and sdists once (`make dist`), creates a Meltano project in a
temporary folder outside the repository and adds each plugin exactly as README.md's "Using the
plugins in another Meltano project" says: `meltano add --plugin-type <type> <name> --from-ref
<folder>/meltano-plugin.yml`, whose `pip_url` names the published package. The built wheels stand
in for PyPI through `PIP_FIND_LINKS`/`UV_FIND_LINKS`; third-party dependencies come from the
package index as usual. Then every pipeline runs against the sandbox, and the operator command.
"""

from __future__ import annotations

import email.parser
import json
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from packaging.requirements import Requirement

sys.path.insert(0, str(Path(__file__).resolve().parent))

from meltano_sandbox import MELTANO, ROOT, SHOP, US_REALM, Sandbox

# Its own CI step (`make test-install`, run by .ci/run): building and installing every
# distribution takes minutes that `make test` cannot spare.
pytestmark = pytest.mark.install_path

# Published distribution -> folder. The sandbox is a development tool and is not published.
DISTRIBUTIONS = {
    "kconnector-canonical": "canonical",
    "tap-shopify-orders": "tap-shopify-orders",
    "tap-woocommerce-orders": "tap-woocommerce-orders",
    "map-quickbooks": "transforms",
    "target-quickbooks": "target-quickbooks",
    "kconnector-realtime": "realtime",
    "kconnector-orchestrate": "orchestrate",
}
DISTRIBUTIONS_BY_FOLDER = {folder: name for name, folder in DISTRIBUTIONS.items()}
PLUGINS = (  # (plugin type, name, folder), in README order
    ("extractor", "tap-shopify-orders", "tap-shopify-orders"),
    ("extractor", "tap-woocommerce-orders", "tap-woocommerce-orders"),
    ("mapper", "map-quickbooks", "transforms"),
    ("loader", "target-quickbooks", "target-quickbooks"),
)
MAPPINGS = '[{"name": "quickbooks", "config": {}}]'
# README.md's install commands, `$K` standing for a K-Connector checkout: the fixture runs these.
ADD_COMMANDS = {
    name: f"meltano add --plugin-type {plugin_type} {name} "
    f"--from-ref $K/{folder}/meltano-plugin.yml"
    for plugin_type, name, folder in PLUGINS
}
MAPPING_COMMAND = f"meltano config set --plugin-type mapper map-quickbooks _mappings '{MAPPINGS}'"
PIP_ALONE_COMMAND = "pip install ./canonical ./tap-woocommerce-orders"
RUN_COMMANDS = (
    "meltano run tap-shopify-orders quickbooks target-quickbooks",
    "meltano invoke target-quickbooks:status",
)
# target-jsonl as Meltano Hub defines its default variant. `meltano add --plugin-type loader
# target-jsonl` reads the Hub, which CI cannot reach; the package itself comes from the index.
TARGET_JSONL = """\
name: target-jsonl
namespace: target_jsonl
variant: andyh1203
pip_url: target-jsonl
executable: target-jsonl
settings:
- name: destination_path
- name: do_timestamp_file
  kind: boolean
"""
ORDERS = 10
COMMAND_TIMEOUT_SECONDS = 600


def _real_clock(env: dict[str, str]) -> dict[str, str]:
    """`env` without libfaketime (`make test-clock-ahead`) for commands that reach the index.

    A clock moved a year ahead sees the index's TLS certificates as expired; installing is not
    date logic of K-Connector's, while the pipelines run afterwards keep the moved clock.
    """
    return {
        key: value
        for key, value in env.items()
        if not key.startswith(("FAKETIME", "DONT_FAKE_MONOTONIC"))
        and not (key == "LD_PRELOAD" and "faketime" in value)
    }


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def _wheel(dist: Path, distribution: str) -> Path:
    (wheel,) = dist.glob(distribution.replace("-", "_") + "-*.whl")
    return wheel


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make dist` into a folder of the test's own."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        ["make", "--no-print-directory", "dist", f"DIST={out}"],  # noqa: S607 - make, as documented
        cwd=ROOT,
        env=_real_clock(dict(os.environ)),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return out


def test_make_dist_builds_a_wheel_and_an_sdist_of_each_published_distribution(dist):
    names = sorted(p.name for p in dist.iterdir() if p.suffix in {".whl", ".gz"})
    for distribution in DISTRIBUTIONS:
        stem = distribution.replace("-", "_")
        assert any(n.startswith(stem) and n.endswith(".whl") for n in names), distribution
        assert any(n.startswith(stem) and n.endswith(".tar.gz") for n in names), distribution
    assert len(names) == 2 * len(DISTRIBUTIONS), names


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_each_distribution_has_complete_metadata(dist, distribution):
    wheel = _wheel(dist, distribution)
    metadata = _metadata(wheel)
    assert metadata["License-Expression"] == "Apache-2.0"
    with zipfile.ZipFile(wheel) as archive:
        (license_file,) = [n for n in archive.namelist() if n.endswith("licenses/LICENSE")]
        assert archive.read(license_file) == (ROOT / "LICENSE").read_bytes()
    classifiers = metadata.get_all("Classifier") or []
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown"
    readme = (ROOT / DISTRIBUTIONS[distribution] / "README.md").read_text(encoding="utf-8")
    assert metadata.get_payload().strip() == readme.strip()
    if distribution != "kconnector-canonical":
        assert metadata["Version"] == (ROOT / "VERSION").read_text(encoding="utf-8").strip()
        canonical = [r for r in metadata.get_all("Requires-Dist") or [] if "canonical" in r]
        assert len(canonical) == 1
        assert "<" in canonical[0]
        assert ">=" in canonical[0]
        # A distribution of the same release line is required at this release's MINOR.
        major, minor, _ = metadata["Version"].split(".", 2)
        for line in metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            if requirement.name in DISTRIBUTIONS and requirement.name != "kconnector-canonical":
                assert str(requirement.specifier) == f"<{major}.{int(minor) + 1},>={major}.{minor}"


@pytest.fixture(scope="module")
def sandbox():
    served = Sandbox(orders=ORDERS)
    served.start()
    yield served
    served.stop()


class Stranger:
    """A brand-new Meltano project outside the repository, run as its README says."""

    def __init__(self, folder: Path, dist: Path, sandbox: Sandbox) -> None:
        self.folder = folder
        self.project = folder / "project"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MELTANO_", "TAP_", "TARGET_", "MAP_", "PIP_", "UV_"))
        }
        qbo = sandbox.url("qbo")
        self.env.update(
            {
                # The built wheels stand in for PyPI (no index holds the project's packages).
                "PIP_FIND_LINKS": str(dist),
                "UV_FIND_LINKS": str(dist),
                "MELTANO_VENV_BACKEND": "uv",
                "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "TAP_SHOPIFY_ORDERS_SHOP": SHOP,
                "TAP_SHOPIFY_ORDERS_ACCESS_TOKEN": "shpat_sandbox_us_0123456789abcdef0123456789ab",
                "TAP_SHOPIFY_ORDERS_API_URL": f"{sandbox.url('shopify')}/shops/{SHOP}",
                "TAP_SHOPIFY_ORDERS_START_DATE": "2025-01-01T00:00:00Z",
                "TAP_WOOCOMMERCE_ORDERS_URL": sandbox.url("woocommerce"),
                "TAP_WOOCOMMERCE_ORDERS_CONSUMER_KEY": (
                    "ck_70b68b4a9265c44ad13e2cae5aa4952a2f7bc80b"
                ),
                "TAP_WOOCOMMERCE_ORDERS_CONSUMER_SECRET": (
                    "cs_aaa0a55848ec1290b9a878b079454167cae7f3c8"
                ),
                "TAP_WOOCOMMERCE_ORDERS_ALLOW_INSECURE_HTTP": "true",  # the sandbox's plain HTTP
                "TAP_WOOCOMMERCE_ORDERS_START_DATE": "2025-01-01T00:00:00Z",
                "TARGET_QUICKBOOKS_REALM_ID": US_REALM,
                "TARGET_QUICKBOOKS_CLIENT_ID": "ABkc3c44f49d0149f4c87140de8383a8e88bbc3edca5202e",
                "TARGET_QUICKBOOKS_CLIENT_SECRET": "871ad57fbba647722fadSx",
                "TARGET_QUICKBOOKS_REFRESH_TOKEN": (
                    "AB11c0019ab6dba54d7d50f8a0c0846c614accd565fa922e56373172d4d6f09d20b9"
                ),
                "TARGET_QUICKBOOKS_API_URL": qbo,
                "TARGET_QUICKBOOKS_TOKEN_URL": f"{qbo}/oauth2/v1/tokens/bearer",
                "TARGET_QUICKBOOKS_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "TARGET_JSONL_DESTINATION_PATH": "output",
            }
        )

    def meltano(
        self, *args: str, cwd: Path | None = None, installs: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """One `meltano` command; fails the test with its output when it fails."""
        done = subprocess.run(
            [str(MELTANO), *args],
            cwd=cwd or self.project,
            env=_real_clock(self.env) if installs else self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, f"meltano {' '.join(args)}:\n{done.stderr[-4000:]}"
        return done

    def plugin_python(self, plugin_type: str, name: str) -> Path:
        """The interpreter of a plugin's own virtualenv."""
        return self.project / ".meltano" / f"{plugin_type}s" / name / "venv" / "bin" / "python"


@pytest.fixture(scope="module")
def stranger(tmp_path_factory, dist, sandbox) -> Stranger:
    folder = tmp_path_factory.mktemp("stranger")
    assert not folder.resolve().is_relative_to(ROOT)
    project = Stranger(folder, dist, sandbox)
    project.meltano("init", "project", "--no_usage_stats", cwd=folder, installs=True)
    # README.md, "Using the plugins in another Meltano project": the same commands.
    for command in [*ADD_COMMANDS.values(), MAPPING_COMMAND]:
        project.meltano(*_argv(command)[1:], installs=True)
    (folder / "target-jsonl.yml").write_text(TARGET_JSONL, encoding="utf-8")
    project.meltano(
        "add",
        "--plugin-type",
        "loader",
        "target-jsonl",
        "--from-ref",
        str(folder / "target-jsonl.yml"),
        installs=True,
    )
    return project


def _argv(command: str) -> list[str]:
    return shlex.split(command.replace("$K", str(ROOT)))


def test_readme_documents_the_commands_this_test_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in [*ADD_COMMANDS.values(), MAPPING_COMMAND, PIP_ALONE_COMMAND, *RUN_COMMANDS]:
        assert command in readme, command


@pytest.mark.parametrize(("plugin_type", "name", "folder"), PLUGINS, ids=[p[1] for p in PLUGINS])
def test_each_plugin_readme_documents_its_own_add_command(plugin_type, name, folder):
    readme = (ROOT / folder / "README.md").read_text(encoding="utf-8")
    assert ADD_COMMANDS[name] in readme
    for form in ("meltano add extractor", "meltano add mapper", "meltano add loader"):
        assert form not in readme
    assert "<repository-url>" not in readme
    if plugin_type == "mapper":
        assert MAPPING_COMMAND in readme


def _installed(python: Path) -> dict[str, str]:
    listed = subprocess.run(
        [
            str(ROOT / ".tools" / "bin" / "uv"),
            "pip",
            "list",
            "--python",
            str(python),
            "--format=json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {row["name"]: row["version"] for row in json.loads(listed)}


@pytest.mark.parametrize(("plugin_type", "name", "folder"), PLUGINS, ids=[p[1] for p in PLUGINS])
def test_each_plugin_is_installed_from_the_built_wheels(stranger, dist, plugin_type, name, folder):
    installed = _installed(stranger.plugin_python(plugin_type, name))
    for distribution in {DISTRIBUTIONS_BY_FOLDER[folder], "kconnector-canonical"}:
        built = _metadata(_wheel(dist, distribution))["Version"]
        assert installed.get(distribution) == built, distribution


def _jsonl_records(stranger: Stranger, stream: str) -> list[dict[str, Any]]:
    records = []
    for path in sorted((stranger.project / "output").glob(f"{stream}*.jsonl")):
        records.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return records


def test_shopify_orders_reach_target_jsonl(stranger):
    stranger.meltano("run", "tap-shopify-orders", "target-jsonl")
    orders = _jsonl_records(stranger, "orders")
    assert orders
    assert {order["platform"] for order in orders} == {"shopify"}


def test_woocommerce_orders_reach_target_jsonl(stranger):
    stranger.meltano("run", "tap-woocommerce-orders", "target-jsonl")
    platforms = {order["platform"] for order in _jsonl_records(stranger, "orders")}
    assert "woocommerce" in platforms


def test_tap_mapping_target_quickbooks_lands_documents_then_status_reports_them(stranger, sandbox):
    stranger.meltano(*_argv(RUN_COMMANDS[0])[1:])
    documents = sandbox.qbo_documents("SalesReceipt") + sandbox.qbo_documents("Invoice")
    assert documents
    assert sandbox.qbo_strict_report() == []
    status = stranger.meltano(*_argv(RUN_COMMANDS[1])[1:])
    assert "SalesReceipt" in status.stdout or "Invoice" in status.stdout


def test_pip_alone_installs_a_plugin_from_a_checkout(tmp_path):
    # README.md: from a git checkout with pip alone, the plugin and kconnector-canonical by path
    # in one command, so pip resolves the canonical dependency without an index holding it.
    env = _real_clock(
        {k: v for k, v in os.environ.items() if not k.startswith(("PIP_FIND_LINKS", "UV_"))}
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], env=env, check=True, timeout=120)
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), *_argv(PIP_ALONE_COMMAND)[1:], "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    about = subprocess.run(
        [str(venv / "bin" / "tap-woocommerce-orders"), "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(about.stdout)["name"] == "tap-woocommerce-orders"
