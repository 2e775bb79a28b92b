"""The Temporal server hands out workflow tasks as soon as they are due (#22): the embedded dev
server and the compose deployment both raise how often a history shard reads its transfer
queue (``history.transferProcessorMaxPollRPS``; at Temporal's default of 20 a task waited up to
50 ms at every step of a case), and both hand an activity to the worker whose workflow task
scheduled it (``system.enableActivityEagerExecution``). Temporal ignores a dynamic-config key
it does not know, silently: so each key is checked against the server binary that reads it
(the dev server is the CLI's build of the same server version as the compose image, see
test_compose)."""

from __future__ import annotations

import mmap
from pathlib import Path

import yaml

from worker.binaries import find_binary
from worker.supervisor import (
    EAGER_ACTIVITIES_KEY,
    SEARCH_ATTRIBUTES_CACHE_KEY,
    TRANSFER_READS_KEY,
    TRANSFER_READS_PER_SECOND,
    dev_server_argv,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _server_knows(key: str) -> bool:
    with (
        open(find_binary("temporal"), "rb") as f,
        mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m,
    ):
        return m.find(key.encode()) != -1


def test_the_keys_are_ones_the_server_knows() -> None:
    assert _server_knows(TRANSFER_READS_KEY)
    assert _server_knows(EAGER_ACTIVITIES_KEY)
    assert _server_knows(SEARCH_ATTRIBUTES_CACHE_KEY)
    # and the check can fail: a misspelt key is not in the binary
    assert not _server_knows(TRANSFER_READS_KEY.replace("MaxPoll", "MaxPol1"))


def test_the_dev_server_reads_its_transfer_queue_when_told(tmp_path: Path) -> None:
    argv = dev_server_argv(tmp_path / "temporal.db", 7233)
    values = [argv[i + 1] for i, a in enumerate(argv) if a == "--dynamic-config-value"]
    assert f"{TRANSFER_READS_KEY}={TRANSFER_READS_PER_SECOND}" in values
    assert TRANSFER_READS_PER_SECOND > 20  # above Temporal's default, or it changes nothing
    assert f"{EAGER_ACTIVITIES_KEY}=true" in values


def _compose_config() -> dict[str, object]:
    """The compose deployment's Temporal dynamic config."""
    path = DEPLOY / "temporal" / "dynamicconfig" / "production-sql.yaml"
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_the_compose_deployment_reads_it_at_most_every_10_ms() -> None:
    assert _compose_config()[TRANSFER_READS_KEY] == [{"value": 100}]


def test_the_compose_deployment_hands_activities_out_eagerly() -> None:
    assert _compose_config()[EAGER_ACTIVITIES_KEY] == [{"value": True}]


def test_the_compose_deployment_caches_search_attributes() -> None:
    assert _compose_config()[SEARCH_ATTRIBUTES_CACHE_KEY] == [{"value": False}]
