"""Tuning with eval_func on Ray: same search, same money, key and budget on the driver (each scenario runs in
a network namespace of its own with only loopback up; see netns.py and scenarios.py)."""

from __future__ import annotations

import pytest
from netns import run_scenario


def _no_socket_off_loopback(report: dict) -> None:
    assert report["samples"] > 3 and report["most_sockets"] > 0  # the watch saw Ray's sockets
    assert report["off_loopback"] == []


@pytest.fixture(scope="module")
def local_run() -> dict:
    return run_scenario("local")


def test_ray_tuning_is_the_default_executors(local_run):
    threads, ray = local_run["threads"], local_run["ray"]
    assert len(ray["trials"]) >= 3
    assert ray["trials"] == threads["trials"]
    assert ray["config"] == threads["config"]
    assert (ray["requests"], ray["billed"], ray["total_cost"]) == (
        threads["requests"],
        threads["billed"],
        threads["total_cost"],
    )


def test_eval_func_ran_on_workers_without_the_key(local_run):
    # On the default executor eval_func runs in the driver, which has the key: the probe does see it there.
    assert local_run["threads_where"] == {"on_a_worker": 0.0, "credentials_in_environment": 1.0}
    assert local_run["ray_where"] == {"on_a_worker": 1.0, "credentials_in_environment": 0.0}
    environ = local_run["environ"]
    assert {"raylet", "gcs_server"} <= set(environ["ray_processes_seen"])
    assert environ["processes_with_the_key"] == []
    assert local_run["ray_files_searched"] > 10
    assert local_run["ray_files_with_the_key"] == []


def test_a_cluster_started_for_the_run_is_stopped_and_one_started_by_the_user_is_kept(local_run):
    assert local_run["ray_left_running"] is False
    assert local_run["kept_running"] is True


def test_resume_and_test_and_plot_work_with_ray(local_run):
    resumed = local_run["resumed"]
    assert resumed["trials"] == local_run["ray"]["trials"] and all(resumed["replayed"])
    assert local_run["resumed_requests"] == 0
    where = ("on_a_worker", "credentials_in_environment")
    ray_test, threads_test = local_run["ray_test"], local_run["threads_test"]
    assert {k: v for k, v in ray_test.items() if k not in where} == {
        k: v for k, v in threads_test.items() if k not in where
    }
    assert ray_test["on_a_worker"] == 1.0 and ray_test["credentials_in_environment"] == 0.0
    assert local_run["plot_bytes"] > 1000


def test_local_run_stays_on_loopback(local_run):
    _no_socket_off_loopback(local_run["sockets"])


def test_a_lost_node_loses_no_trial_and_no_money():
    run = run_scenario("lost_node")
    threads, ray = run["threads"], run["ray"]
    assert run["removed"], "the node was never busy, so it was not removed"
    markers = run["markers"]["ray"]
    assert {m["node"] for m in markers} == {run["victim"], run["survivor"]}
    assert len(markers) > run["markers"]["threads"]  # a call was run again after its node was lost
    assert ray["trials"] == threads["trials"] and ray["config"] == threads["config"]
    assert (ray["requests"], ray["billed"]) == (threads["requests"], threads["billed"])  # nothing paid twice
    assert ray["total_cost"] == threads["total_cost"] <= ray["budget"]
    _no_socket_off_loopback(run["sockets"])


def test_nodes_that_cannot_sandbox_or_hold_a_key_refuse_the_run_before_spending():
    run = run_scenario("preflight")
    for call in ("tune", "test"):
        assert run[f"no_bwrap_{call}"].startswith("SandboxError: generated code is checked in bubblewrap")
        assert "bubblewrap is not installed" in run[f"no_bwrap_{call}"]
    assert run["no_bwrap_requests"] == 0
    assert run["key_on_worker"].startswith("ConfigurationError: the driver keeps the API keys")
    assert "OPENAI_API_KEY" in run["key_on_worker"] and "sk-on-a-worker" not in run["key_on_worker"]
    assert run["key_on_worker_requests"] == 0
    _no_socket_off_loopback(run["sockets"])
