#!/usr/bin/env bash
# Turn a fresh `debootstrap --variant=minbase` tree into what Debian's Docker image holds.
#
#   minimize-debian.sh ROOT SUITE MIRROR SECURITY_MIRROR
#
# docker-library's debian:bookworm is a debuerreotype build: debootstrap minbase, then the
# "minimizing config" that makes every later `RUN apt-get install` layer lean (apt deletes
# its downloaded .debs and binary caches after each run, keeps list files compressed, skips
# translations; dpkg skips fsync; services never start), deb822 sources for the suite, its
# updates and security, no apt lists, and no logs or caches of the bootstrap itself.
# buildpack-deps' and golang's Dockerfiles rely on that config: without it their layers
# would carry every .deb they installed.
set -euo pipefail
root=$1 suite=$2 mirror=$3 security=$4

cat >"$root/usr/sbin/policy-rc.d" <<'SH'
#!/bin/sh
# Image builds cannot start services: tell invoke-rc.d not to try (debuerreotype).
exit 101
SH
chmod 0755 "$root/usr/sbin/policy-rc.d"

printf '%s\n' '# Package installs happen in image builds: no fsync after each file (debuerreotype).' \
  'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"

conf="$root/etc/apt/apt.conf.d"
printf '%s\n' '# Remove suggested packages with what suggested them (debuerreotype).' \
  'Apt::AutoRemove::SuggestsImportant "false";' >"$conf/docker-autoremove-suggests"
clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
cat >"$conf/docker-clean" <<CONF
// "apt-get clean" after every install and update, so image layers carry no package
// caches (debuerreotype's docker-clean).
DPkg::Post-Invoke { $clean };
APT::Update::Post-Invoke { $clean };

Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
printf '%s\n' '// Keep list files compressed on disk (debuerreotype).' \
  'Acquire::GzipIndexes "true";' >"$conf/docker-gzip-indexes"
printf '%s\n' '// No translation files (debuerreotype).' \
  'Acquire::Languages "none";' >"$conf/docker-no-languages"
chmod 0644 "$conf"/docker-* "$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"

# deb822 sources, as in the official image (debootstrap wrote a one-line sources.list).
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
  "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/partial/*.deb
mkdir -p "$root/var/lib/apt/lists/partial"
rm -f "$root/var/log/dpkg.log" "$root/var/log/bootstrap.log" "$root/var/log/alternatives.log" \
  "$root/var/cache/ldconfig/aux-cache" "$root/run/mount/utab"
rmdir "$root/run/mount" 2>/dev/null || true
