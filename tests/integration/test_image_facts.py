"""helpers.image (files, ELF, CA bundle, run config) on the two real images of the exercise."""

from __future__ import annotations

import platform

import pytest
from docker.models.containers import ContainerCollection

from helpers.config import MANAGED_LABEL, NAMESPACE_LABEL
from helpers.image import (elf_facts, find_ca_bundle, image_config, parse_ca_bundle,
                                 read_file)
from helpers.image import file_breakdown

HOST_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64",
               "arm64": "arm64"}.get(platform.machine().lower(), platform.machine())
CA_PATH = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture(autouse=True)
def no_container_left(client, monkeypatch):
    """Record every container the test creates; afterwards none of them may remain.

    Only this test's containers are looked for among the kit-labelled ones: other kit
    processes (a benchmark, a learner's notebook) may run on the same engine at the same time.
    """
    created: list[str] = []
    real_create = ContainerCollection.create

    def recording_create(self, *args, **kwargs):
        container = real_create(self, *args, **kwargs)
        created.append(container.id)
        assert container.labels.get(MANAGED_LABEL) == "true"
        assert NAMESPACE_LABEL in container.labels
        return container

    monkeypatch.setattr(ContainerCollection, "create", recording_create)
    yield created
    kit = client.containers.list(all=True, filters={"label": f"{MANAGED_LABEL}=true"})
    leftovers = [c.name for c in kit if c.id in created]
    assert leftovers == []


def test_optimized_server_is_static_and_stripped(client, optimized, no_container_left):
    data = read_file(client, optimized.tag, "/server")
    facts = elf_facts(data, "/server")
    assert facts.is_elf and facts.static and facts.stripped
    assert facts.interpreter is None and facts.needed == []
    assert facts.goarch == HOST_GOARCH == image_config(client, optimized.tag).architecture
    info = facts.go_build_info
    assert info["CGO_ENABLED"] == "0" and info["-trimpath"] == "true"
    assert "-ldflags" not in info  # go build records no -ldflags when -trimpath is on
    assert (info["GOOS"], info["GOARCH"]) == ("linux", HOST_GOARCH)
    assert len(no_container_left) == 1


def test_optimized_ca_bundle(client, optimized):
    bundle = find_ca_bundle(client, optimized.tag)
    assert bundle.path == CA_PATH and bundle.checked_paths == [CA_PATH]
    assert bundle.certificates > 100 and bundle.invalid_blocks == 0
    # the same answer from the file list of the final filesystem
    files = set(file_breakdown(client, optimized.tag).files["path"])
    assert files == {"/server", CA_PATH}
    assert find_ca_bundle(client, optimized.tag, files=files) == bundle
    raw = read_file(client, optimized.tag, CA_PATH)
    assert bundle.certificates == raw.count(b"-----BEGIN CERTIFICATE-----")
    assert bundle.size_bytes == len(raw)


def test_optimized_config(client, optimized):
    config = image_config(client, optimized.tag)
    assert config.user == "65534:65534" and not config.runs_as_root()
    assert config.entrypoint == ["/server"] and config.cmd is None
    assert not config.shell_form()
    assert "-healthcheck" in config.healthcheck
    assert config.program_path() == "/server"
    assert config.exposed_ports == ["8080/tcp"]
    assert config.os == "linux"
    assert config.size_bytes == client.images.get(optimized.tag).attrs["Size"]


def test_original_server_is_dynamic_and_not_stripped(client, original):
    facts = elf_facts(read_file(client, original.tag, "/app/server"), "/app/server")
    assert facts.is_elf and not facts.static and not facts.stripped
    assert facts.interpreter  # glibc's loader, absent from scratch
    assert "libc.so.6" in facts.needed
    assert facts.has_symtab and facts.has_debug
    assert facts.goarch == HOST_GOARCH
    assert facts.go_build_info["CGO_ENABLED"] == "1"


def test_original_config_and_bundle(client, original):
    config = image_config(client, original.tag)
    assert config.cmd == ["./server"] and config.workdir == "/app"
    assert config.program_path() == "/app/server"
    assert config.runs_as_root() and config.healthcheck is None
    bundle = find_ca_bundle(client, original.tag)
    assert bundle.path == CA_PATH and bundle.certificates > 100


def test_read_file_follows_a_symlink_of_the_base_image(client, original):
    link = read_file(client, original.tag, "/etc/ssl/certs/ISRG_Root_X1.pem")
    if link is None:
        pytest.skip("this golang:1.22 has no ISRG_Root_X1.pem link")
    assert parse_ca_bundle(link, "x").certificates == 1


def test_read_file_missing_path(client, optimized, no_container_left):
    assert read_file(client, optimized.tag, "/etc/passwd") is None
    assert read_file(client, optimized.tag, "/no/such/dir/file") is None
    assert len(no_container_left) == 2
