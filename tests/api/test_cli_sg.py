"""``secplane sg export | import | clone | restore`` against the live test server: the CLI signs its calls
like any SDK (credentials from the environment), so these are end-to-end runs of the tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from secplane import cli
from secplane.testing import RunningServer
from tests.api.test_instances import REGION, World
from tests.api.test_sg_tools import (
    A,
    authorize,
    content,
    many_rules,
    restore_pair,
    rules,
    system_rule,
    varied_rules,
)

Runner = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def world(api: RunningServer) -> World:
    return World(api)


@pytest.fixture
def run(
    api: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Runner:
    """``secplane sg …`` in-process, in a fresh directory, signed with the server's root key; returns
    (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", api.access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", api.access_key_secret)
    monkeypatch.setenv("SECPLANE_REGION", REGION)

    def invoke(*args: str) -> tuple[int, str, str]:
        status = cli.main(["sg", *args, "--endpoint", api.endpoint, "--data-dir", str(tmp_path)])
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_round_trip(run: Runner, world: World, tmp_path: Path, fmt: str) -> None:
    net = world.network()
    group, _, _ = varied_rules(world, net.vpc_id)
    status, out, _ = run("export", group, "--format", fmt)
    assert status == 0
    (written,) = tmp_path.glob(f"ecs_*{group}*.{fmt}")
    assert out.strip() == f"8 rules of {group} written to {written.name}"
    empty = world.group(net.vpc_id)
    status, out, _ = run("import", empty, str(written))
    assert status == 0
    assert out.splitlines()[0].split()[:3] == ["#", "Line", "Status"]
    assert out.rstrip().endswith(f"8 rules: 8 ok, 0 skipped, 0 failed; 8 added to {empty}")
    assert content(world, empty) == content(world, group)


def test_export_to_stdout_and_json(run: Runner, world: World, tmp_path: Path) -> None:
    group = world.group()
    authorize(world, group, A)
    status, out, _ = run("export", group, "--format", "csv", "-o", "-")
    assert status == 0 and out.startswith("\ufeffDirection,Policy,") and "10.0.0.1" in out
    status, out, _ = run("export", group, "-o", "mine.json", "--json")
    body = json.loads(out)
    assert (body["Path"], body["RuleCount"]) == ("mine.json", 1) and "Content" not in body
    assert json.loads((tmp_path / "mine.json").read_text())["SecurityGroupId"] == group


def test_import_dry_run_shows_each_rules_result(run: Runner, world: World, tmp_path: Path) -> None:
    group = world.group()
    authorize(world, group, A)
    file = tmp_path / "rules.csv"
    file.write_text(
        "Direction,IpProtocol,PortRange,SourceCidrIp,Description\n"
        "ingress,TCP,1/1,10.0.0.1,already there\n"
        "ingress,TCP,80,0.0.0.0/0,web\n"
        "ingress,TCP,70000,0.0.0.0/0,bad\n",
        encoding="utf-8-sig",
    )
    status, out, _ = run("import", group, str(file), "--dry-run")
    assert status == 0
    lines = out.splitlines()
    assert [line.split()[2] for line in lines[2:5]] == ["Skipped", "Ok", "Failed"]
    assert any(line.startswith("  line 4: The specified parameter PortRange") for line in lines)
    assert lines[-1] == "3 rules: 1 ok, 1 skipped, 1 failed; nothing changed (dry run)"
    assert len(rules(world, group)) == 1
    status, out, _ = run("import", group, str(file), "--json")
    assert (json.loads(out)["AddedCount"], len(rules(world, group))) == (1, 2)


def test_long_import_shows_progress(run: Runner, world: World, tmp_path: Path) -> None:
    group = world.group()
    file = tmp_path / "many.csv"
    file.write_text(many_rules(201))
    status, out, err = run("import", group, str(file), "--progress")
    assert status == 0
    assert f"importing many.csv ({file.stat().st_size:,} bytes): done in" in err
    assert "201 rules: 200 ok, 0 skipped, 1 failed; 200 added" in out
    assert "Over the limit of 200 rules" in out


def test_clone_prints_what_was_not_copied(run: Runner, world: World, api: RunningServer) -> None:
    source, _ = restore_pair(api, world)
    system_rule(api, source, port="7/7")
    status, out, _ = run("clone", source, "--name", "copy-1")
    assert status == 0
    assert out.startswith("Created sg-") and "2 rules copied, 1 not." in out
    assert "Not copied: 1" in out and "InvalidPriority.ValueNotSupported" in out
    status, out, _ = run("clone", source, "--name", "copy-2", "--all-rules", "--json")
    body = json.loads(out)
    assert (body["CopiedRuleCount"], body["SkippedRuleCount"]) == (3, 0)
    assert sorted(p["Priority"] for p in rules(world, body["SecurityGroupId"])) == [1, 1, 100]


def test_restore_preview_then_apply(run: Runner, world: World, api: RunningServer) -> None:
    source, target = restore_pair(api, world)
    status, out, _ = run("restore", source, "--from", target, "--mode", "full", "--dry-run")
    assert status == 0
    assert f"Add (only in {target}): 2" in out and f"Remove (only in {source}): 1" in out
    assert "Cannot be restored: 1" in out and "9/9 ingress: The rule has priority 110" in out
    assert out.rstrip().endswith(f"Preview only: run without --dry-run to apply it to {source}.")
    status, out, _ = run("restore", source, "--from", target, "--mode", "full")
    assert out.rstrip().endswith(f"{source}: 2 rules added, 1 removed.")
    assert sorted(p["PortRange"] for p in rules(world, source)) == ["2/2", "3/3", "3/3"]


def test_errors_are_reported_with_the_code(run: Runner) -> None:
    status, out, err = run("export", "sg-nope")
    assert (status, out) == (1, "")
    assert err.startswith("secplane sg export: InvalidSecurityGroupId.NotFound: ")


def test_the_installed_command(api: RunningServer, world: World, tmp_path: Path) -> None:
    group = world.group()
    env = {
        **os.environ,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": api.access_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": api.access_key_secret,
        "SECPLANE_ENDPOINT": api.endpoint,
    }
    done = subprocess.run(
        [sys.executable, "-m", "secplane", "sg", "export", group, "--region", REGION, "-o", "-"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Permissions"] == {"Permission": []}
