#!/usr/bin/env bash
# The filesystem of gcr.io/distroless/static-debian12, made the way distroless makes it, as
# a tar on stdout. Runs inside a Debian bookworm container (scripts/base-images.sh pipes it
# to `bash -s` in its debian:bookworm stand-in and `docker import`s the tar).
#
# distroless' static image is no Debian system: no dpkg, no shell, no libc. It is the data
# of three packages, base-files, netbase and tzdata, unpacked (never installed: no maintainer
# scripts), a dpkg status file per package under /var/lib/dpkg/status.d for scanners, plus
# files of its own: the CA bundle built from ca-certificates (and that package's copyright),
# /etc/passwd and /etc/group with root, nobody and nonroot (65532), /etc/nsswitch.conf,
# its own /etc/os-release, /tmp (1777), /root and /home/nonroot (0700).
set -euo pipefail
exec 3>&1 1>&2  # the tar goes to the original stdout; everything else is a log line

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The bundle is what update-ca-certificates makes from the Mozilla certificates.
apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null
work=$(mktemp -d)
cd "$work"
apt-get download -qq base-files netbase tzdata ca-certificates

rootfs=/rootfs
mkdir -p "$rootfs/var/lib/dpkg/status.d"
for deb in ./*.deb; do
  package=$(dpkg-deb -f "$deb" Package)
  dpkg-deb -f "$deb" >"$rootfs/var/lib/dpkg/status.d/$package"
  dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./md5sums \
    >"$rootfs/var/lib/dpkg/status.d/$package.md5sums" 2>/dev/null || true
  [ "$package" = ca-certificates ] && continue  # only its bundle and copyright, below
  dpkg-deb -x "$deb" "$rootfs"
done

install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
install -D -m 0644 /usr/share/doc/ca-certificates/copyright \
  "$rootfs/usr/share/doc/ca-certificates/copyright"

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
# distroless' own os-release, a file (base-files ships a link to /usr/lib/os-release)
rm -f "$rootfs/etc/os-release"
. /etc/os-release
cat >"$rootfs/etc/os-release" <<RELEASE
PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="$VERSION_ID"
VERSION="Debian GNU/Linux $VERSION_ID ($VERSION_CODENAME)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
SUPPORT_URL="https://github.com/GoogleContainerTools/distroless/blob/master/README.md"
BUG_REPORT_URL="https://github.com/GoogleContainerTools/distroless/issues/new"
RELEASE
chmod 0644 "$rootfs"/etc/passwd "$rootfs"/etc/group "$rootfs"/etc/nsswitch.conf \
  "$rootfs"/etc/os-release

install -d -m 1777 "$rootfs/tmp"
install -d -m 0700 "$rootfs/root"
install -d -m 0700 -o 65532 -g 65532 "$rootfs/home/nonroot"

tar -C "$rootfs" --numeric-owner -c . >&3
