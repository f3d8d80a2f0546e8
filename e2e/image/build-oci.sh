#!/usr/bin/env bash
# Builds the agent's image and a pause image without a registry or a Docker engine, for the local-node
# e2e provider: OCI archives that `ctr images import` loads into containerd.
#
# The agent image has the Dockerfile's layout and entrypoint (read from the Dockerfile): a base layer
# equivalent to distroless base-debian12 (glibc, libssl, tzdata, netbase, CA bundle, passwd with
# root/nonroot/nobody; no shell), then the jlink runtime, then the app with an AOT cache trained
# chrooted in that very file system (jlink/train-offline.sh), since a cache trained under another
# path is silently ignored.
# The base layer's files are copied from this host's installed Debian 12 packages, so the build is
# offline; the Dockerfile stays the user-facing build and pulls the real distroless base.
#
# Usage: e2e/image/build-oci.sh RUNTIME_DIR OUT_DIR   (root; RUNTIME_DIR from `make runtime`)
# Writes OUT_DIR/agent.tar (localhost/kubelet-server-cert-untaint:e2e) and OUT_DIR/pause.tar
# (localhost/pause:e2e), and prints their layer sizes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
runtime=$(cd "${1:?usage: build-oci.sh RUNTIME_DIR OUT_DIR}" && pwd)
out=${2:?usage: build-oci.sh RUNTIME_DIR OUT_DIR}
AGENT_REF=localhost/kubelet-server-cert-untaint:e2e
PAUSE_REF=localhost/pause:e2e
BASE_PACKAGES=(base-files netbase tzdata libc6 libssl3)

log() { printf 'build-oci.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
((EUID == 0)) || die "run as root: the AOT training chroots into the image's file system"
for tool in umoci jq gcc unshare chroot dpkg-query; do
	command -v "$tool" >/dev/null || die "$tool is missing (apt-get install umoci jq gcc util-linux)"
done
[[ -x $runtime/jre/bin/java && -f $runtime/app/kubelet-server-cert-untaint.jar ]] ||
	die "$runtime is not a runtime from jlink/build-runtime.sh: run make runtime"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# The base layer comes from this host's packages, so the image is for this host's architecture.
arch=$(dpkg --print-architecture)
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- base layer: the distroless-equivalent file system ---------------------------------------------
base=$work/base
# The usr-merge targets first: the packages' /bin, /lib, /lib64 and /sbin are symlinks into /usr.
mkdir -p "$base/usr/bin" "$base/usr/sbin" "$base/usr/lib" "$base/usr/lib64"
for pkg in "${BASE_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
		die "Debian package $pkg is not installed on this host (apt-get install $pkg)"
done
# Files and symlinks only (directories follow from them). Man pages, lintian overrides and changelogs
# are left out, as distroless does.
dpkg-query -L "${BASE_PACKAGES[@]}" | while IFS= read -r f; do
	[[ $f == /usr/share/man/* || $f == /usr/share/lintian/* || $f == /usr/share/doc/*/changelog* ]] && continue
	if [[ -L $f || -f $f ]]; then printf '%s\n' "${f#/}"; fi
done | tar -C / --no-recursion -cf - -T - | tar -C "$base" -xf -
mkdir -p "$base/etc/ssl/certs" "$base/home/nonroot" "$base/root" "$base/tmp"
cp /etc/ssl/certs/ca-certificates.crt "$base/etc/ssl/certs/" 2>/dev/null || log "no CA bundle on this host; the image has none"
chmod 1777 "$base/tmp"
chmod 700 "$base/root"
chown 65532:65532 "$base/home/nonroot"
cat >"$base/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$base/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
echo 'hosts: files dns' >"$base/etc/nsswitch.conf"

# --- runtime and app, the AOT cache trained inside the image's root --------------------------------
root=$work/root
cp -a "$base" "$root"
mkdir -p "$root/opt/kscu"
cp -a "$runtime/jre" "$root/opt/kscu/jre"
cp -a "$runtime/app" "$root/opt/kscu/app"
rm -f "$root/opt/kscu/app/app.aot"
# Whole-second timestamps, fixed: the AOT cache records the jars' and the runtime's mtimes and is
# refused when they differ, and a layer tar keeps whole seconds only (umoci rounds). A fixed time also
# makes the layers reproducible.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)}
find "$root" -exec touch -h -d "@$epoch" {} +
bash "$repo/jlink/train-offline.sh" /opt/kscu "$root"
touch -d "@$epoch" "$root/opt/kscu/app/app.aot"
rm -rf "${root:?}/tmp/"* "${root:?}/dev" "${root:?}/proc"
mkdir -p "$work/jre/opt/kscu" "$work/app/opt/kscu"
mv "$root/opt/kscu/jre" "$work/jre/opt/kscu/jre"
mv "$root/opt/kscu/app" "$work/app/opt/kscu/app"

# --- pause ------------------------------------------------------------------------------------------
mkdir -p "$work/pause"
gcc -static -Os -s -o "$work/pause/pause" "$here/pause.c"

# --- OCI layouts and archives -----------------------------------------------------------------------
# One layout per image, so each archive names exactly one image (io.containerd.image.name is what
# `ctr images import` reads).
layout() { # NAME REF: turns $work/NAME.oci into OUT/NAME.tar named REF
	local oci=$work/$1.oci ref=$2
	umoci gc --layout "$oci"
	jq --arg ref "$ref" '.manifests |= map(.annotations["io.containerd.image.name"] = $ref)' \
		"$oci/index.json" >"$oci/index.json.new"
	mv "$oci/index.json.new" "$oci/index.json"
	tar -C "$oci" -cf "$out/$1.tar" .
}

oci=$work/agent.oci
umoci init --layout "$oci"
umoci new --image "$oci:e2e"
for layer in base jre app; do
	umoci insert --image "$oci:e2e" "$work/$layer" /
done
# The Dockerfile's ENTRYPOINT (its exec-form JSON array), so the two images cannot drift apart.
entrypoint=()
mapfile -t entrypoint < <(sed -n '/^ENTRYPOINT/,/]$/p' "$repo/Dockerfile" | sed 's/^ENTRYPOINT//; s/\\$//' |
	tr -d '\n' | jq -r '.[]')
((${#entrypoint[@]} > 0)) || die "no exec-form ENTRYPOINT found in $repo/Dockerfile"
umoci config --image "$oci:e2e" --os linux --architecture "$arch" \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
	--config.workingdir / \
	"${entrypoint[@]/#/--config.entrypoint=}"
layout agent "$AGENT_REF"

oci=$work/pause.oci
umoci init --layout "$oci"
umoci new --image "$oci:e2e"
umoci insert --image "$oci:e2e" "$work/pause" /
umoci config --image "$oci:e2e" --os linux --architecture "$arch" --config.user 65535:65535 \
	--config.entrypoint /pause
layout pause "$PAUSE_REF"

# Compressed layer sizes, the figure a registry pull moves.
jq -r '.layers[] | "\(.size)"' "$work/agent.oci/blobs/sha256/$(jq -r '.manifests[0].digest' "$work/agent.oci/index.json" | cut -d: -f2)" |
	awk '{ s += $1; printf "build-oci.sh: agent layer %d: %.1f MB\n", NR, $1 / 1e6 } END { printf "build-oci.sh: agent layers: %.1f MB\n", s / 1e6 }' >&2
log "wrote $out/agent.tar ($AGENT_REF) and $out/pause.tar ($PAUSE_REF)"
