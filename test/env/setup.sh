#!/usr/bin/env bash
# Prepares the real test bed on a machine of this kind, as root, and is safe to run again:
#   - installs what is missing (Docker engine, rsync, udev, debootstrap, D-Bus, the tools and
#     drivers of every filesystem bought drives carry: ext4, xfs, btrfs, and exFAT, NTFS and vfat
#     through FUSE; strace, Python's D-Bus bindings for the logind/UDisks2/notification stand-ins),
#   - starts dockerd and systemd-udevd when they are not running (dockerd with no iptables and no
#     bridge: there is no network here), and notes in $runtime_dir that it started them, so
#     test/env/forget-machine.sh stops exactly those,
#   - builds the local images once (debootstrap + docker import; there is no registry): Immich's
#     database stand-in (PostgreSQL 17 with pgvector, Debian trixie), the same start-up on
#     PostgreSQL 13 (bullseye: a public schema before 15), and a systemd test host,
#   - removes what an earlier, killed test run left behind (only its own things, see reap.ts).
# Everything it starts keeps running after it returns, so the tests can use it. It relies on
# nothing an earlier run or boot left: on a fresh machine (test/env/forget-machine.sh) it builds
# everything again.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
image=${IBA_TEST_IMAGE:-immich-backup-agent-test/postgres:17-pgvector}
cache_dir=${IBA_TEST_CACHE:-/var/cache/immich-backup-agent-test}
# What the test bed started (pid files), for forget-machine.sh. Under /run: gone at reboot, like
# the daemons it describes.
runtime_dir=/run/immich-backup-agent-test

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
command -v mkfs.xfs >/dev/null || need+=(xfsprogs)
command -v mkfs.btrfs >/dev/null || need+=(btrfs-progs)
command -v mkfs.exfat >/dev/null || need+=(exfatprogs)
command -v mount.exfat-fuse >/dev/null || need+=(exfat-fuse)
command -v mkntfs >/dev/null || need+=(ntfs-3g)
command -v fusefat >/dev/null || need+=(fusefat)
command -v strace >/dev/null || need+=(strace)
# The zsh completion is loaded by a real zsh (test/unit/cli/completion.test.ts).
command -v zsh >/dev/null || need+=(zsh)
command -v gdbus >/dev/null || need+=(libglib2.0-bin)
command -v man >/dev/null || need+=(man-db)
command -v groff >/dev/null || need+=(groff-base)
command -v systemd-inhibit >/dev/null || need+=(systemd)
# restore --from-drive starts Immich with compose: the plugin (v2, below) where there is one,
# else the standalone docker-compose (v1.29, Debian bookworm's): the tests run both.
command -v docker-compose >/dev/null || need+=(docker-compose)
/usr/bin/python3 -c 'import dbus, gi' 2>/dev/null || need+=(python3-dbus python3-gi)
if ((${#need[@]})); then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- Docker Compose v2, the plugin -------------------------------------------------------------
# What most machines run `docker compose` with (Docker's own packages, Debian trixie's
# docker-compose). Bookworm has only v1, and trixie's package has the same name, so the plugin
# binary is taken out of trixie's package (fetched and signature-checked by apt, with a private
# list) and put where the docker CLI looks for plugins, with a note that the test bed put it
# there (forget-machine.sh removes it).
compose_plugins=/usr/local/lib/docker/cli-plugins
if ! docker compose version >/dev/null 2>&1; then
  say "installing the Docker Compose v2 plugin from Debian trixie"
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror:-http://deb.debian.org/debian} trixie main" >"$apt_dir/sources.list"
  apt_options=(-qq -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_options[@]}" update >/dev/null
  (cd "$apt_dir" && apt-get "${apt_options[@]}" download docker-compose >/dev/null)
  mkdir -p "$compose_plugins"
  dpkg-deb --fsys-tarfile "$apt_dir"/docker-compose_*.deb |
    tar -x -O ./usr/libexec/docker/cli-plugins/docker-compose >"$compose_plugins/docker-compose.tmp"
  chmod 755 "$compose_plugins/docker-compose.tmp"
  mv "$compose_plugins/docker-compose.tmp" "$compose_plugins/docker-compose"
  touch "$compose_plugins/.iba-test-bed"
  rm -rf "$apt_dir"
  docker compose version >/dev/null
fi

# --- Docker engine --------------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  mkdir -p /var/log
  # setsid: the engine must outlive this script and the shell that started it.
  mkdir -p "$runtime_dir"
  setsid dockerd --iptables=false --bridge=none >>/var/log/iba-test-dockerd.log 2>&1 </dev/null &
  echo $! >"$runtime_dir/dockerd.pid"
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
  mkdir -p "$runtime_dir"
  /lib/systemd/systemd-udevd --daemon
  pgrep -xo systemd-udevd >"$runtime_dir/udevd.pid"
fi
# Where tests give udevd their rules; /run is a tmpfs, so nothing of it survives a reboot.
mkdir -p /run/udev/rules.d

# --- images from debootstrapped rootfs trees ------------------------------------------------
# There is no registry here: a Debian rootfs with the packages asked for is made by debootstrap
# (about a minute), cached as a tarball, and imported. Usage: rootfs_image IMAGE NAME SUITE PACKAGES.
rootfs_image() {
  local image_name=$1 name=$2 suite=$3 packages=$4
  docker image inspect "$image_name" >/dev/null 2>&1 && return 0
  mkdir -p "$cache_dir"
  local tarball="$cache_dir/$name-rootfs.tar"
  if [[ ! -s $tarball ]]; then
    local mirror rootfs
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
    say "debootstrap $suite with $packages from $mirror (about a minute)"
    debootstrap --variant=minbase "--include=$packages" "$suite" "$rootfs" "$mirror" >"$cache_dir/debootstrap-$name.log" 2>&1 || {
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

# Immich's database stand-in: PostgreSQL 17 with pgvector (Debian trixie; bookworm has no
# pgvector), so Immich's real schema loads. The rootfs is a base image; the thin layer on top
# (the official image's entry point and start-up, STOPSIGNAL, which `docker import --change`
# cannot set on this engine) is rebuilt every time from test/env/postgres-image, instantly when
# nothing changed (Docker's layer cache).
base=immich-backup-agent-test/debian-postgres-17-rootfs:trixie
rootfs_image "$base" postgres-17-trixie trixie postgresql-17,postgresql-17-pgvector
DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" -t "$image" "$here/postgres-image" >/dev/null
# The same start-up on PostgreSQL 13 (Debian bullseye): before 15, the public schema belongs to
# the bootstrap superuser and PUBLIC may create in it (Immich's compose still runs 14).
older_base=immich-backup-agent-test/debian-postgres-13-rootfs:bullseye
rootfs_image "$older_base" postgres-13-bullseye bullseye postgresql-13
DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$older_base" --build-arg PG_MAJOR=13 \
  -t "${IBA_TEST_OLDER_IMAGE:-immich-backup-agent-test/postgres:13}" "$here/postgres-image" >/dev/null

# The systemd test host: boots systemd as PID 1 in a container (the shipped units under a real
# systemd).
rootfs_image "${IBA_TEST_SYSTEMD_IMAGE:-immich-backup-agent-test/systemd:bookworm}" systemd bookworm systemd,systemd-sysv,dbus,udev,rsync

# --- leftovers of killed runs ---------------------------------------------------------------
node --import tsx "$here/reap.ts"
say "ready: $(docker version --format '{{.Server.Version}}') engine, image $image"
