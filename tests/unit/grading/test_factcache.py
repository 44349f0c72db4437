"""Facts kept between checks (helpers.grading.factcache): keyed by image id, reused with a
note, measured again when the id changes, gone after a reset. No engine: the image's facts
are fakes, the folder a temporary one."""

from __future__ import annotations

import json
import os
import time
from types import SimpleNamespace

import pandas as pd
import pytest

from helpers.engine import reset as reset_module
from helpers.grading import evidence, factcache
from helpers.grading.checks import note_reused
from helpers.grading.factcache import ImageFacts, Kept
from helpers.image.certs import CaBundle
from helpers.image.elf import ElfFacts
from helpers.image.runconfig import config_from_inspect
from tests.unit.fakes import FakeClient, FakeImage
from tests.unit.grading.test_checks import REPO_CONTEXT, evaluate
from tests.unit.grading.test_mistakes import REFERENCE

ID_A, ID_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    """Every kept fact goes to a temporary folder (never the repository's out/)."""
    monkeypatch.setattr(reset_module, "FACT_CACHE_DIR", tmp_path / "factcache")
    monkeypatch.setenv("KIT_NAMESPACE", "unit")
    return tmp_path / "factcache"


def sample() -> ImageFacts:
    elf = ElfFacts("/server", True, machine="x86_64", goarch="amd64", static=True,
                   stripped=True, size_bytes=4_900_000, go_build_info={"go_version": "go1.22"})
    ca = CaBundle("/etc/ssl/certs/ca-certificates.crt", 142, 0, 220_000,
                  ["/etc/ssl/certs/ca-certificates.crt"], 142)
    return ImageFacts([("/etc/ssl/certs/ca-certificates.crt", 220_000, 1),
                       ("/server", 4_900_000, 2)], 5_120_000, "/server", elf, ca)


def test_image_facts_round_trip_and_load_only_under_their_id(cache_dir):
    factcache.store_image_facts(ID_A, sample())
    facts, kept = factcache.load_image_facts(ID_A)
    assert facts == sample()
    assert kept.subject == "image sha256:aaaaaaaaaaaa…"
    assert factcache.load_image_facts(ID_B) is None  # another image: measured again
    assert list((cache_dir / "unit" / "image").glob("*.json"))


def test_the_note_says_what_and_when():
    at = time.mktime((2026, 12, 1, 10, 2, 0, 0, 0, -1))
    note = Kept({}, at, "image sha256:abcd…").note()
    assert note == "measured on image sha256:abcd… at 2026-12-01 10:02, reused"
    assert Kept({}, time.time(), "x").note().startswith(f"measured on x at {time.strftime('%H')}:")


def test_a_damaged_or_older_entry_is_a_miss(cache_dir):
    factcache.store("depcache", "k1", {"status": "pass"}, "s")
    path = next((cache_dir / "unit" / "depcache").glob("*.json"))
    entry = json.loads(path.read_text())
    path.write_text(json.dumps({**entry, "format": factcache.FORMAT - 1}))
    assert factcache.load("depcache", "k1") is None
    path.write_text("{not json")
    assert factcache.load("depcache", "k1") is None
    assert factcache.load("depcache", "") is None


def test_only_the_newest_entries_are_kept(cache_dir, monkeypatch):
    monkeypatch.setattr(factcache, "KEEP", 3)
    for i in range(5):
        factcache.store("depcache", f"key{i}", {"i": i}, "s")
        path = cache_dir / "unit" / "depcache" / f"key{i}.json"
        stamp = time.time() - 100 + i
        os.utime(path, (stamp, stamp))
    factcache.store("depcache", "key5", {"i": 5}, "s")
    left = sorted(p.stem for p in (cache_dir / "unit" / "depcache").glob("*.json"))
    assert left == ["key3", "key4", "key5"]


def test_namespaces_do_not_share_facts(monkeypatch):
    factcache.store_image_facts(ID_A, sample())
    monkeypatch.setenv("KIT_NAMESPACE", "bob")
    assert factcache.load_image_facts(ID_A) is None


def test_reset_clears_this_namespace_only(cache_dir, monkeypatch):
    factcache.store_image_facts(ID_A, sample())
    monkeypatch.setenv("KIT_NAMESPACE", "bob")
    factcache.store_image_facts(ID_A, sample())
    client = FakeClient()
    client.containers.list = lambda **kwargs: []  # nothing on the engine to remove
    report = reset_module.reset(client, images=False)
    assert report.files == [str(cache_dir / "bob")]
    assert factcache.load_image_facts(ID_A) is None
    monkeypatch.setenv("KIT_NAMESPACE", "unit")
    assert factcache.load_image_facts(ID_A) is not None
    assert reset_module.clear_fact_cache(all_namespaces=True) == [str(cache_dir)]
    assert not cache_dir.exists() and reset_module.clear_fact_cache() == []


# ---------------------------------------------------------------------------------------------
# evidence._inspect_image: reuse for the same id, measure again for a new one
# ---------------------------------------------------------------------------------------------
class Measured:
    """Fake measurements of the image, counting how often each was asked for."""

    def __init__(self, monkeypatch):
        self.calls = {"breakdown": 0, "read_file": 0, "ca": 0}
        config = config_from_inspect({"Config": {"Entrypoint": ["/server"], "User": "65534"},
                                      "Os": "linux", "Architecture": "amd64", "Size": 5_120_000})
        monkeypatch.setattr(evidence.image, "image_config", lambda client, tag: config)
        monkeypatch.setattr(evidence, "image_store", lambda client: "overlay2")
        monkeypatch.setattr(evidence, "listed_size", lambda client, image: 5_120_000)
        monkeypatch.setattr(evidence, "file_breakdown", self.breakdown)
        monkeypatch.setattr(evidence.image, "read_file", self.read_file)
        monkeypatch.setattr(evidence.image, "elf_facts", lambda data, path: sample().elf)
        monkeypatch.setattr(evidence.image, "find_ca_bundle", self.ca)

    def breakdown(self, client, tag):
        self.calls["breakdown"] += 1
        files = pd.DataFrame({"path": ["/etc/ssl/certs/ca-certificates.crt", "/server"],
                              "size_bytes": [220_000, 4_900_000], "layer": [1, 2]})
        return SimpleNamespace(files=files, total_bytes=5_120_000)

    def read_file(self, client, tag, path):
        self.calls["read_file"] += 1
        return b"\x7fELF"

    def ca(self, client, tag, files):
        self.calls["ca"] += 1
        return sample().ca


def inspect(image_id: str, use_cache: bool = True):
    image = FakeImage("t", 5_120_000, 2)
    image.id = image_id
    facts = evidence.read_dockerfile(REPO_CONTEXT, REFERENCE, "t")
    evidence._inspect_image(FakeClient(images=[image]), facts, use_cache)
    return facts


def test_the_same_image_id_reuses_files_elf_and_ca(monkeypatch):
    measured = Measured(monkeypatch)
    first = inspect(ID_A)
    second = inspect(ID_A)
    assert measured.calls == {"breakdown": 1, "read_file": 1, "ca": 1}
    assert first.reused == "" and second.reused.startswith("measured on image sha256:aaaa")
    for name in ("size_bytes", "added_files", "kept_files", "image_id"):
        assert getattr(first, name) == getattr(second, name), name
    assert (second.evidence.elf, second.evidence.ca) == (first.evidence.elf, first.evidence.ca)
    assert second.evidence.files == first.evidence.files
    assert second.engine_size_bytes == 5_120_000  # the engine's figure: read every time


def test_a_new_image_id_measures_again_and_use_cache_false_never_reads(monkeypatch):
    measured = Measured(monkeypatch)
    inspect(ID_A)
    again = inspect(ID_B)
    assert measured.calls["breakdown"] == 2 and again.reused == ""
    inspect(ID_A, use_cache=False)
    assert measured.calls["breakdown"] == 3


def test_a_fact_that_could_not_be_measured_is_not_kept(monkeypatch):
    measured = Measured(monkeypatch)

    def broken(client, tag, files):
        raise OSError("export failed")

    monkeypatch.setattr(evidence.image, "find_ca_bundle", broken)
    assert "ca" in inspect(ID_A).unmeasured
    assert inspect(ID_A).reused == ""
    assert measured.calls["breakdown"] == 2


def test_checks_on_reused_facts_say_so(monkeypatch):
    Measured(monkeypatch)
    inspect(ID_A)
    facts = inspect(ID_A)
    facts.health_ok, facts.health_status = True, 200
    report = note_reused(evaluate(facts), facts)
    for check_id in ("size", "only-binary", "ca-certs", "static-binary"):
        message = report.get(check_id).message
        assert message.endswith(f"({facts.reused[0].upper()}{facts.reused[1:]}.)"), message
    assert "reused" not in report.get("runs").message
