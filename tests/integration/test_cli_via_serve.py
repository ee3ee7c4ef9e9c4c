"""The CLI's integration tests, the other way: a curated, fast subset of
them (the commonest commands: run, ps, logs, exec, inspect, rm, stop,
start, attach, volume, network) re-run here with the `hk` fixture in its
"serve" mode (cli_store): the same temp store served by a `hakobune serve`
started for this module, every command the hakobune CLI as its client
(`hakobune -H unix://SOCK ...`).  The whole files run that way with
HAKOBUNE_TEST_VIA=serve; this module keeps both ways in CI at a bounded
cost.  The tests are the other modules' own functions, imported: they are
collected here a second time and resolve `hk` (and their modules' fixtures
built on it, imported too) with this module's fixtures."""

import pytest

from cli_store import checked, make_store
from test_cli_containers import (test_create_then_start_attach, test_detached_lifecycle,  # noqa: F401
                                 test_name_conflict, test_rm_force_and_inspect_shape, test_run_echo,
                                 test_run_errors_are_125, test_run_exit_status_and_streams,
                                 test_run_interactive_forwards_stdin, test_run_tty)
from test_cli_exec import (test_exec_detach, test_exec_env_workdir_user, test_exec_in_a_stopped_container,  # noqa: F401
                           test_exec_missing_container, test_exec_output_and_status, test_exec_stdin,
                           test_exec_tty)
from test_cli_lifecycle import (test_attach_forwards_stdin_and_signals,  # noqa: F401
                                test_attach_streams_live_output_and_exit_status, test_container_prune,
                                test_detach_keys_from_run_it_and_attach, test_kill_default_and_signals,
                                test_kill_errors, test_logs_tail_timestamps_since_details, test_pause_unpause,
                                test_ps_filters_last_and_size, test_rename, test_restart)
from test_cli_logs_rotation import (test_follow_across_rotation_neither_loses_nor_repeats,  # noqa: F401
                                    test_log_driver_none)
from test_network_cli import (net, test_create_prints_the_id_and_refuses_a_duplicate_name,  # noqa: F401
                              test_inspect_has_dockers_shape, test_rm_refuses_builtins_and_networks_in_use)
from test_volume_cli import test_create_inspect_ls_rm, test_errors_as_docker_prints_them, vk  # noqa: F401

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def store(busybox_rootfs):
    """This module's store, served: `hk.run` goes through `hakobune serve`."""
    yield from make_store(busybox_rootfs, "serve")


@pytest.fixture
def hk(store, request):
    yield from checked(store, request)
