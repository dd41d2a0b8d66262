#!/usr/bin/env bash
# Prepares the real test bed on a machine of this kind, as root, and is safe to run again:
#   - installs what is missing (Docker engine, rsync, udev, debootstrap, D-Bus, ext4 and vfat
#     tools, strace, Python's D-Bus bindings for the logind/UDisks2/notification stand-ins),
#   - starts dockerd when no engine answers (no iptables, no bridge: there is no network here),
#   - builds the local PostgreSQL image once (debootstrap + docker import; there is no registry),
#   - removes what an earlier, killed test run left behind (only its own things, see reap.ts).
# Everything it starts keeps running after it returns, so the tests can use it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
image=${IBA_TEST_IMAGE:-immich-backup-agent-test/postgres:15}
cache_dir=${IBA_TEST_CACHE:-/var/cache/immich-backup-agent-test}

say() { printf '[test bed] %s\n' "$*"; }

if [[ $(id -u) -ne 0 ]]; then
  echo "The test bed needs root (loop devices, mounts, the Docker engine). Run: sudo npm test" >&2
  exit 2
fi

# --- packages -------------------------------------------------------------------------------
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v rsync >/dev/null || need+=(rsync)
command -v udevadm >/dev/null || need+=(udev)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v dbus-daemon >/dev/null || need+=(dbus)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v losetup >/dev/null || need+=(mount)
command -v mkfs.vfat >/dev/null || need+=(dosfstools)
command -v strace >/dev/null || need+=(strace)
command -v gdbus >/dev/null || need+=(libglib2.0-bin)
command -v systemd-inhibit >/dev/null || need+=(systemd)
/usr/bin/python3 -c 'import dbus, gi' 2>/dev/null || need+=(python3-dbus python3-gi)
if ((${#need[@]})); then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- Docker engine --------------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  mkdir -p /var/log
  # setsid: the engine must outlive this script and the shell that started it.
  setsid dockerd --iptables=false --bridge=none >>/var/log/iba-test-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || {
    echo "dockerd did not come up; see /var/log/iba-test-dockerd.log" >&2
    tail -20 /var/log/iba-test-dockerd.log >&2 || true
    exit 1
  }
fi

# --- udevd ----------------------------------------------------------------------------------
# The udev rule is tested against the real udevd (udevadm test, and real add events).
if ! pgrep -x systemd-udevd >/dev/null; then
  say "starting systemd-udevd"
  /lib/systemd/systemd-udevd --daemon
fi

# --- images from debootstrapped rootfs trees ------------------------------------------------
# There is no registry here: a Debian rootfs with the packages asked for is made by debootstrap
# (about a minute), cached as a tarball, and imported. Usage: rootfs_image IMAGE NAME PACKAGES.
rootfs_image() {
  local image_name=$1 name=$2 packages=$3
  docker image inspect "$image_name" >/dev/null 2>&1 && return 0
  mkdir -p "$cache_dir"
  local tarball="$cache_dir/$name-rootfs.tar"
  if [[ ! -s $tarball ]]; then
    local mirror rootfs
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
    say "debootstrap bookworm with $packages from $mirror (about a minute)"
    debootstrap --variant=minbase "--include=$packages" bookworm "$rootfs" "$mirror" >"$cache_dir/debootstrap-$name.log" 2>&1 || {
      tail -30 "$cache_dir/debootstrap-$name.log" >&2
      rm -rf "$rootfs"
      exit 1
    }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    # Nothing of a machine's console or network is a test container's business.
    rm -f "$rootfs"/etc/systemd/system/getty.target.wants/* "$rootfs"/etc/systemd/system/multi-user.target.wants/networking.service
    tar -C "$rootfs" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  say "importing $image_name"
  docker import --change 'CMD ["/bin/sh"]' "$tarball" "$image_name" >/dev/null
}

# The PostgreSQL stand-in: the rootfs is a base image; the thin layer on top (entry point,
# STOPSIGNAL, which `docker import --change` cannot set on this engine) is rebuilt every time from
# test/env/postgres-image, instantly when nothing changed (Docker's layer cache).
base=immich-backup-agent-test/debian-postgres-15-rootfs:bookworm
rootfs_image "$base" postgres-15 postgresql-15
DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" -t "$image" "$here/postgres-image" >/dev/null

# The systemd test host: boots systemd as PID 1 in a container (the shipped units under a real
# systemd).
rootfs_image "${IBA_TEST_SYSTEMD_IMAGE:-immich-backup-agent-test/systemd:bookworm}" systemd systemd,systemd-sysv,dbus,udev,rsync

# --- leftovers of killed runs ---------------------------------------------------------------
node --import tsx "$here/reap.ts"
say "ready: $(docker version --format '{{.Server.Version}}') engine, image $image"
