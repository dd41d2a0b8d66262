#!/usr/bin/env bash
# Puts this machine back to what a fresh boot of a fresh machine looks like as far as this
# project is concerned, so "it works on a fresh machine" can be checked on any machine:
#   - what test runs left: their sandboxes under /tmp/iba-test (mounts, loop devices, containers,
#     udev rules), and every container made from the test bed's images (drills, systemd hosts),
#   - the test bed's images (immich-backup-agent-test/*) and the cache they are built from,
#   - the daemons setup.sh started (dockerd, systemd-udevd: the ones it noted in
#     /run/immich-backup-agent-test), and what they keep under /run,
#   - the udev rules folder tests use under /run, and setup.sh's own notes.
# Installed packages stay: setup.sh installs what is missing. A daemon this project did not
# start (a machine where systemd runs docker.service or udevd) is left running, and its state
# with it. Refuses, changing nothing, while a test run is still alive.
# .ci/run runs this first, so every CI run starts from a fresh machine. As root; safe to repeat.
set -euo pipefail

runtime_dir=/run/immich-backup-agent-test
cache_dir=${IBA_TEST_CACHE:-/var/cache/immich-backup-agent-test}
test_root=/tmp/iba-test
image_prefix=immich-backup-agent-test/
rules_dir=/run/udev/rules.d

say() { printf '[forget] %s\n' "$*"; }

if [[ $(id -u) -ne 0 ]]; then
  echo "forget-machine needs root. Run: sudo bash test/env/forget-machine.sh" >&2
  exit 2
fi

# --- a live test run owns its sandbox: refuse rather than pull the floor from under it --------
# A sandbox's .owner holds the pid and its start time (a reused pid is not the owner).
start_time() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'; }
for dir in "$test_root"/*/; do
  [[ -f $dir.owner ]] || continue
  pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$dir.owner")
  start=$(sed -n 's/.*"start":"\([0-9]*\)".*/\1/p' "$dir.owner")
  if [[ -n $pid && -n $start && $(start_time "$pid") == "$start" ]]; then
    echo "A test run (pid $pid) still uses $dir; stop it first. Nothing was changed." >&2
    exit 1
  fi
done

# --- which daemons are the test bed's --------------------------------------------------------
# The pid files setup.sh writes, or, for daemons an older setup.sh started without them, the
# exact command lines it uses (a system's own dockerd or udevd runs with others: -H fd://, no
# --daemon), so nothing the machine runs for itself is stopped.
bed_pid() {
  local name=$1 signature=$2 pid
  if [[ -s $runtime_dir/$name.pid ]]; then
    pid=$(cat "$runtime_dir/$name.pid")
    kill -0 "$pid" 2>/dev/null && echo "$pid" && return 0
  fi
  pgrep -xf "$signature" | head -n 1
}
dockerd_pid=$(bed_pid dockerd 'dockerd --iptables=false --bridge=none' || true)
udevd_pid=$(bed_pid udevd '/lib/systemd/systemd-udevd --daemon' || true)

# --- the Docker engine: needed to remove containers and images, even after a reboot ----------
we_started_docker=false
[[ -n $dockerd_pid ]] && we_started_docker=true
temporary_docker=false
if ! docker info >/dev/null 2>&1 && command -v dockerd >/dev/null && [[ -d /var/lib/docker ]]; then
  # Images survive a reboot in /var/lib/docker: an engine for a moment, to remove them.
  say "starting dockerd for a moment to remove the test bed's images"
  setsid dockerd --iptables=false --bridge=none >>/var/log/iba-test-dockerd.log 2>&1 </dev/null &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  temporary_docker=true
  we_started_docker=true
fi

# --- mounts, loop devices and udev rules of test sandboxes -----------------------------------
# Deepest first; lazily, so a FUSE or busy mount does not stop the rest.
awk -v root="$test_root/" 'index($5, root) == 1 { print $5 }' /proc/self/mountinfo |
  sed 's/\\040/ /g' | sort -r | while IFS= read -r mount_point; do
  say "unmounting $mount_point"
  umount --lazy -- "$mount_point" || true
done
# Also when the folder is gone already: a loop device outlives its image's name.
losetup --list --noheadings --output NAME,BACK-FILE 2>/dev/null |
  awk -v root="$test_root/" 'index($2, root) == 1 { print $1 }' | while read -r device; do
  say "detaching $device"
  losetup --detach "$device" || true
done
if [[ -d $rules_dir ]]; then
  find "$rules_dir" -maxdepth 1 -name '*iba-test-*' -print -delete | sed 's/^/[forget] removed rule /'
fi

# --- containers of the test bed's images, then the images ------------------------------------
if docker info >/dev/null 2>&1; then
  mapfile -t images < <(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep "^$image_prefix" || true)
  for image in "${images[@]}"; do
    mapfile -t containers < <(docker ps --all --quiet --filter "ancestor=$image")
    if ((${#containers[@]})); then
      say "removing ${#containers[@]} container(s) of $image"
      docker rm --force --volumes "${containers[@]}" >/dev/null
    fi
  done
  # Containers labelled by a test sandbox, whatever their image.
  mapfile -t labelled < <(docker ps --all --quiet --filter label=immich-backup-agent-test.owner)
  if ((${#labelled[@]})); then docker rm --force --volumes "${labelled[@]}" >/dev/null; fi
  for image in "${images[@]}"; do
    say "removing image $image"
    docker image rm --force "$image" >/dev/null
  done
  docker image prune --force --filter "label=immich-backup-agent-test" >/dev/null 2>&1 || true
fi
rm -rf "$test_root"

# --- the daemons setup.sh started -------------------------------------------------------------
stop_pid() {
  local name=$1 pid=$2
  kill -0 "$pid" 2>/dev/null || return 0
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
}
if $we_started_docker; then
  stop_pid dockerd "$dockerd_pid"
  # What the engine keeps under /run (its network namespace is a mount there); a fresh machine
  # has none of it.
  awk '$5 ~ "^/run/(docker|containerd)/" { print $5 }' /proc/self/mountinfo | sort -r |
    while IFS= read -r mount_point; do umount --lazy -- "$mount_point" || true; done
  rm -rf /run/docker /run/docker.sock /run/docker.pid /run/containerd
  $temporary_docker || say "dockerd stopped"
fi
if [[ -n $udevd_pid ]]; then
  stop_pid systemd-udevd "$udevd_pid"
  # udevd's database and the rules folder: a fresh boot of this machine has no /run/udev.
  rm -rf /run/udev
fi
# The rules folder tests make: a freshly booted machine has none, whoever runs udevd.
rmdir "$rules_dir" 2>/dev/null || true

# --- the Docker Compose v2 plugin, when the test bed put it there ------------------------------
compose_plugins=/usr/local/lib/docker/cli-plugins
if [[ -e $compose_plugins/.iba-test-bed ]]; then
  rm -f "$compose_plugins/docker-compose" "$compose_plugins/.iba-test-bed"
  rmdir "$compose_plugins" /usr/local/lib/docker 2>/dev/null || true
  say "removed the Docker Compose v2 plugin the test bed installed"
fi

# --- caches and notes -------------------------------------------------------------------------
rm -rf "$cache_dir" "$runtime_dir" /var/log/iba-test-dockerd.log
say "this machine is now fresh for immich-backup-agent: npm test or npm run demo sets it up again"
