"""Notebook 01's self-check, from fake measurements: each row passes only on its own fact."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from helpers.lessons import single_stage

CLAIMS = ["the original image builds", "it is bigger than 300 MB",
          "/app/server is only a small part of it (\u2264 10%)", "it answers /health"]


def measured(**changes) -> dict:
    """What a good run of notebook 01 measures; ``changes`` replace one of them."""
    good = {
        "built": SimpleNamespace(steps=[object()] * 7),
        "summary": SimpleNamespace(size_mb=760.2),
        "breakdown": SimpleNamespace(files=pd.DataFrame({
            "path": ["/usr/local/go/bin/go", "/app/server"],
            "size_bytes": [12_000_000, 7_500_000]})),
        "health": SimpleNamespace(status_code=200, healthy=True),
    }
    return {**good, **changes}


def statuses(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["claim"], frame["status"]))


def test_a_good_run_passes_every_claim_with_its_measurement():
    frame = single_stage.self_check(**measured())
    assert list(frame.columns) == ["claim", "measured", "status", "note"]
    assert list(frame["claim"]) == CLAIMS
    assert set(frame["status"]) == {"pass"}
    assert list(frame["measured"]) == ["7 steps", "760 MB", "7.5 MB", 200]


@pytest.mark.parametrize("change, claim", [
    ({"summary": SimpleNamespace(size_mb=299.0)}, "it is bigger than 300 MB"),
    ({"breakdown": SimpleNamespace(files=pd.DataFrame({"path": ["/bin/sh"],
                                                       "size_bytes": [1]}))},
     CLAIMS[2]),
    ({"breakdown": SimpleNamespace(files=pd.DataFrame({"path": ["/app/server"],  # 13%
                                                       "size_bytes": [100_000_000]}))},
     CLAIMS[2]),
    ({"health": SimpleNamespace(status_code=503, healthy=False)}, "it answers /health"),
])
def test_a_row_fails_when_its_fact_fails(change, claim):
    found = statuses(single_stage.self_check(**measured(**change)))
    assert found.pop(claim) == "fail"
    assert set(found.values()) == {"pass"}


def test_nothing_measured_is_never_a_pass():
    """A failed build fails its own claim; what it would have made is skip, with the reason."""
    frame = single_stage.self_check(None, None, None, None)
    assert list(frame["status"]) == ["fail", "skip", "skip", "skip"]
    assert set(frame["measured"]) == {"-"}
    assert all("did not build" in note for note in frame["note"][1:])


def test_a_built_image_whose_facts_were_not_measured_fails_them():
    found = statuses(single_stage.self_check(**measured(summary=None, breakdown=None,
                                                        health=None)))
    assert found == {CLAIMS[0]: "pass", CLAIMS[1]: "fail", CLAIMS[2]: "fail",
                     CLAIMS[3]: "fail"}
