#!/usr/bin/env bash
# A Docker-compatible engine for `sam local invoke` / `sam local start-api` on machines without
# Docker: Debian's podman (rootful) serving the Docker API on a project-local socket, plus a
# minimal local stand-in for the Lambda base image (no registry is reachable to pull AWS's).
#   infra/podman.sh [up]   install podman + runc if missing, write the config, start the API
#                          service, build the base image, let containers reach the host's
#                          loopback; prints `export DOCKER_HOST=...` on stdout (idempotent:
#                          `eval "$(infra/podman.sh)"`)
#   infra/podman.sh env    print the export line only
#   infra/podman.sh down   stop the service this script started and drop the loopback rule
#   infra/podman.sh status say whether the service runs
# Then: sam local invoke Fn -e event.json --skip-pull-image --parameter-overrides Architecture=x86_64
# Inside a function container the host's 127.0.0.1:<port> is host.containers.internal:<port>
# (e.g. AWS_ENDPOINT_URL=http://host.containers.internal:4566 through --env-vars).
# The base image holds host (Debian) glibc, not Amazon Linux: check Rust binaries with
# infra/glibc-check.sh (AL2023 has glibc 2.34).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$root/.local/podman"
sock="$state/podman.sock"
conf="$state/containers.conf"
pidfile="$state/service.pid"
# Read by podman only (the service and the podman commands below), not by the rest of the system.
export CONTAINERS_CONF="$conf"

case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 libdir=/lib/x86_64-linux-gnu ld=/lib64/ld-linux-x86-64.so.2 ;;
  aarch64 | arm64) arch=arm64 libdir=/lib/aarch64-linux-gnu ld=/lib/ld-linux-aarch64.so.1 ;;
  *) echo "==> unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
# sam looks for this exact name for Runtime provided.al2023; with --skip-pull-image it never asks
# a registry and uses the local image.
image="public.ecr.aws/lambda/provided:al2023-$arch"
export_line="export DOCKER_HOST=unix://$sock"

say() { echo "==> $*" >&2; }

ping_service() { curl -sf -o /dev/null --max-time 2 --unix-socket "$sock" http://d/_ping; }

service_pid() {
  local pid
  pid="$(cat "$pidfile" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && grep -qa "system" "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

install_packages() {
  if command -v podman >/dev/null && command -v runc >/dev/null && command -v iptables >/dev/null; then
    return 0
  fi
  say "installing podman and runc (apt)"
  # crun is podman's default runtime but not what is installed here; recommends (buildah,
  # fuse-overlayfs, slirp4netns, ...) are not needed for rootful use.
  local pkgs=(podman runc iptables)
  if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2; then
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2
  fi
}

write_config() {
  mkdir -p "$state"
  # runtime: runc, the runtime installed above. default_ulimits: podman otherwise asks for
  # nofile=1048576, above this host's hard limit, and runc fails with "error setting rlimits".
  local want
  want='# Written by infra/podman.sh.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
'
  if [[ ! -f "$conf" || "$(cat "$conf")" != "$(printf '%s' "$want")" ]]; then
    printf '%s' "$want" > "$conf"
    # A running service read the old file.
    if pid="$(service_pid)"; then
      say "config changed: restarting podman service"
      stop_service
    fi
  fi
}

start_service() {
  if ping_service; then return 0; fi
  if (( ${#sock} > 100 )); then
    say "socket path too long for a unix socket (${#sock} chars): $sock"; exit 1
  fi
  say "starting podman system service on $sock"
  rm -f "$sock"
  # --time=0: never exit for inactivity. setsid: survives the terminal that started it.
  setsid nohup podman system service --time=0 "unix://$sock" > "$state/service.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 100); do
    if ping_service; then return 0; fi
    sleep 0.1
  done
  say "podman service did not answer; see $state/service.log"
  tail -n 20 "$state/service.log" >&2
  exit 1
}

stop_service() {
  local pid
  if pid="$(service_pid)"; then
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$pidfile" "$sock"
}

# The files of the base image: what sam's image build runs (`RUN mv ... && chmod +x ...` through
# /bin/sh), what a Rust bootstrap links against, and what its HTTP and TLS clients read.
make_rootfs() {
  local fs="$1" f lib
  umask 022
  mkdir -p "$fs/usr/bin" "$fs/usr/lib" "$fs/usr/lib64" "$fs$libdir"
  # Merged /usr, like Debian and Amazon Linux 2023: /bin/sh and /usr/bin/sh both resolve.
  ln -s usr/bin "$fs/bin"
  ln -s usr/lib "$fs/lib"
  ln -s usr/lib64 "$fs/lib64"
  mkdir -p "$fs/tmp" "$fs/var/task" "$fs/var/runtime" "$fs/var/rapid" "$fs/opt" "$fs/etc/ssl/certs" \
    "$fs/etc/pki/tls/certs" "$fs/proc" "$fs/dev" "$fs/sys"
  chmod 1777 "$fs/tmp"
  for f in sh mv chmod; do
    cp -L "$(command -v "$f")" "$fs/usr/bin/$f"
    for lib in $(ldd "$(command -v "$f")" | grep -o '/[^ ]*'); do
      [[ -e "$fs$lib" ]] || cp -L "$lib" "$fs$lib"
    done
  done
  # glibc and the GCC runtime a Rust (or C) binary links against; libpthread, libdl and librt are
  # stubs since glibc 2.34 but binaries built against older glibc still name them.
  for lib in libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libgcc_s.so.1; do
    [[ -e "$fs$libdir/$lib" ]] || cp -L "$libdir/$lib" "$fs$libdir/$lib"
  done
  [[ -e "$fs$ld" ]] || cp -L "$ld" "$fs$ld"
  # Without nsswitch.conf glibc asks DNS before /etc/hosts, and host.containers.internal is only
  # in /etc/hosts.
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$fs/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$fs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$fs/etc/group"
  # TLS clients that read the system roots (rustls-native-certs) find none without a bundle;
  # these are the Debian and AL2023 paths.
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    cp /etc/ssl/certs/ca-certificates.crt "$fs/etc/ssl/certs/ca-certificates.crt"
    cp /etc/ssl/certs/ca-certificates.crt "$fs/etc/pki/tls/certs/ca-bundle.crt"
  fi
}

build_image() {
  local tmp="$1" changes sum have old
  make_rootfs "$tmp/rootfs"
  # Same variables and working directory as AWS's provided.al2023 image (sam overrides the
  # entrypoint with the RIE it adds at /var/rapid).
  changes=(
    "ENV PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin"
    "ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
    "ENV LAMBDA_TASK_ROOT=/var/task"
    "ENV LAMBDA_RUNTIME_DIR=/var/runtime"
    "ENV LANG=C.UTF-8"
    "ENV TZ=UTC"
    "WORKDIR /var/task"
  )
  # A reproducible tar, so that its digest says whether the image must be rebuilt.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
  sum="$( { sha256sum < "$tmp/rootfs.tar"; printf '%s\n' "${changes[@]}"; } | sha256sum | cut -c1-64)"
  have="$(podman image inspect --format '{{index .Labels "local.rootfs.sha256"}}' "$image" 2>/dev/null || true)"
  if [[ "$have" == "$sum" ]]; then return 0; fi
  say "building $image (local stand-in: host glibc, sh, mv, chmod)"
  old="$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  local args=()
  for c in "${changes[@]}"; do args+=(--change "$c"); done
  podman import --quiet "${args[@]}" \
    --change "LABEL local.rootfs.sha256=$sum" \
    --change "LABEL org.opencontainers.image.description=Local stand-in for the Lambda provided.al2023 image (host glibc), built by infra/podman.sh" \
    "$tmp/rootfs.tar" "$image" > /dev/null
  # sam derives its own image (base + RIE) once and reuses it: drop it so it is derived again.
  podman images --format '{{.Repository}}:{{.Tag}}' |
    { grep -E '^public\.ecr\.aws/lambda/provided:.*rapid' || true; } | xargs -r podman rmi -f > /dev/null
  if [[ -n "$old" ]]; then podman rmi "$old" > /dev/null 2>&1 || true; fi
  # Smoke test: what sam's build runs. It also brings up the bridge the loopback rule needs.
  podman run --rm "$image" /bin/sh -c 'echo > /tmp/a && mv /tmp/a /tmp/b && chmod +x /tmp/b' > /dev/null
}

# Containers are on podman's bridge (the Docker API sam uses always asks for it, whatever
# containers.conf says, and sam's `--docker-network host` only skips connecting to another
# network), so their 127.0.0.1 is their own. host.containers.internal, in every container's
# /etc/hosts, is the bridge's gateway: send TCP to it on to the host's loopback (DNAT, which the
# kernel only allows to 127.0.0.0/8 with route_localnet on the bridge interface).
bridge() {
  local iface gw
  read -r iface gw < <(podman network inspect podman \
    --format '{{.NetworkInterface}} {{range .Subnets}}{{.Gateway}}{{end}}')
  if [[ ! -e "/sys/class/net/$iface" ]]; then
    # The bridge appears with the first container.
    podman run --rm "$image" /bin/sh -c : > /dev/null
  fi
  echo "$iface $gw"
}

loopback_up() {
  local iface gw rule
  read -r iface gw < <(bridge)
  rule=(PREROUTING -i "$iface" -d "$gw" -p tcp -j DNAT --to-destination 127.0.0.1)
  if [[ "$(cat "/proc/sys/net/ipv4/conf/$iface/route_localnet")" != 1 ]]; then
    echo 1 > "/proc/sys/net/ipv4/conf/$iface/route_localnet"
  fi
  if ! iptables -t nat -C "${rule[@]}" 2>/dev/null; then
    say "forwarding $gw (host.containers.internal) to the host's 127.0.0.1"
    iptables -t nat -I "${rule[@]}"
  fi
}

loopback_down() {
  local iface gw
  command -v podman >/dev/null || return 0
  read -r iface gw < <(podman network inspect podman \
    --format '{{.NetworkInterface}} {{range .Subnets}}{{.Gateway}}{{end}}' 2>/dev/null) || return 0
  while iptables -t nat -D PREROUTING -i "$iface" -d "$gw" -p tcp -j DNAT --to-destination 127.0.0.1 2>/dev/null; do :; done
  if [[ -e "/proc/sys/net/ipv4/conf/$iface/route_localnet" ]]; then
    echo 0 > "/proc/sys/net/ipv4/conf/$iface/route_localnet"
  fi
}

case "${1:-up}" in
  up)
    install_packages
    write_config
    start_service
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    build_image "$tmp"
    loopback_up
    echo "$export_line" > "$state/env"
    echo "$export_line"
    ;;
  env)
    echo "$export_line"
    ;;
  down)
    if service_pid > /dev/null; then say "stopping podman service"; fi
    stop_service
    loopback_down
    ;;
  status)
    if ping_service; then echo "podman service: running ($sock)"; else echo "podman service: stopped"; exit 1; fi
    ;;
  *)
    echo "usage: infra/podman.sh [up|env|down|status]" >&2
    exit 2
    ;;
esac
