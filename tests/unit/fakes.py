"""A fake docker client for unit tests, in the spirit of docker-py's tests/unit fakes.

Only the calls the kit makes are modelled; each fake records what it was asked to do so
tests can assert on it (e.g. that a container was removed after an exception).
"""

from __future__ import annotations

from docker.errors import APIError, ImageNotFound, NotFound


class FakeAPI:
    """Stands in for ``client.api``: ``build`` yields the chunks given to the constructor."""

    def __init__(self, chunks=(), base_url="http+docker://localhost"):
        self.chunks = list(chunks)
        self.base_url = base_url
        self.build_kwargs = None
        self.timeout = 2

    def build(self, **kwargs):
        self.build_kwargs = kwargs
        yield from self.chunks


class FakeContainer:
    """A container that is 'running', with a published port, until stopped or removed."""

    def __init__(self, name, labels, status="running", exit_code=0, logs=b"", port="49153",
                 start_error=""):
        self.name = name
        self.start_error = start_error
        self.started = False
        self.labels = labels
        self.status = status
        self.exit_code = exit_code
        self._logs = logs
        self.port = port
        self.stopped = False
        self.removed = False

    @property
    def attrs(self):
        bindings = [{"HostIp": "127.0.0.1", "HostPort": self.port}] if self.port else []
        return {"NetworkSettings": {"Ports": {"8080/tcp": bindings}},
                "State": {"ExitCode": self.exit_code}}

    def reload(self):
        if self.removed:
            raise NotFound("gone")

    def start(self):
        if self.start_error:
            raise APIError(self.start_error, explanation=self.start_error)
        self.started = True

    def logs(self):
        return self._logs

    def stop(self, timeout=10):
        self.stopped = True
        self.status = "exited"

    def remove(self, force=False):
        self.removed = True


class FakeContainers:
    def __init__(self, **container_kwargs):
        self.created: list[FakeContainer] = []
        self.run_kwargs = None
        self.container_kwargs = container_kwargs

    def create(self, image, **kwargs):
        if image == "missing":
            raise ImageNotFound("no such image")
        self.run_kwargs = kwargs
        container = FakeContainer(kwargs["name"], kwargs["labels"], **self.container_kwargs)
        self.created.append(container)
        if image == "interrupted":  # Ctrl-C after the engine made it, before we got its id
            raise KeyboardInterrupt
        return container

    def get(self, name):
        for container in self.created:
            if container.name == name and not container.removed:
                return container
        raise NotFound(name)


class FakeImage:
    def __init__(self, tag, size, layers, history=()):
        self.tags = [tag]
        self.id = "sha256:" + "ab" * 32
        self.attrs = {"Size": size, "RootFS": {"Layers": ["sha256:x"] * layers}}
        self._history = list(history)

    def history(self):
        return self._history


class FakeImages:
    def __init__(self, images=()):
        self.by_tag = {image.tags[0]: image for image in images}

    def get(self, tag):
        if tag not in self.by_tag:
            raise ImageNotFound(tag)
        return self.by_tag[tag]

    def list(self, name=None):
        """The images tagged ``name`` (all without one), as ``images.list(name=…)``."""
        return [image for tag, image in self.by_tag.items() if name in (None, tag)]


class FakeClient:
    """``docker.DockerClient`` look-alike holding the fakes above."""

    def __init__(self, chunks=(), images=(), base_url="http+docker://localhost",
                 **container_kwargs):
        self.api = FakeAPI(chunks, base_url)
        self.containers = FakeContainers(**container_kwargs)
        self.images = FakeImages(images)
        #: What ``version()`` and ``info()`` answer (an overlay2 Docker engine by default).
        self.version_info = {"Version": "20.10.24", "Arch": "amd64", "Components": [
            {"Name": "Engine", "Version": "20.10.24"}]}
        self.engine_info = {"Driver": "overlay2", "DriverStatus": [["Backing Filesystem",
                                                                    "extfs"]]}

    def version(self):
        return self.version_info

    def info(self):
        return self.engine_info
