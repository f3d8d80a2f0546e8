#!/usr/bin/env bash
# Builds the agent's image from the Dockerfile, with buildah, and a pause image, for the local-node e2e
# provider: OCI archives that `ctr images import` loads into containerd. No registry, no Docker engine.
#
# The Dockerfile takes its two base images as build arguments. Here they are local stand-ins made from
# this host, committed into buildah's storage first:
# - BASE_IMAGE, for distroless base-debian12: glibc, libssl, tzdata, netbase, the CA bundle and a
#   passwd with root/nonroot/nobody, no shell, copied from this host's installed Debian 12 packages;
# - BUILDER_IMAGE, for eclipse-temurin:25-jdk: that base plus a shell, coreutils, wget and unzip (and
#   the packages they depend on, from this host) and this host's JDK 25 at /opt/java/openjdk.
# Everything else is the Dockerfile's, as `docker build` runs it: the Maven build (its dependencies come
# from Maven Central into a buildah cache mount), jlink, and the AOT cache trained in the builder.
#
# Usage: e2e/image/build.sh OUT_DIR   (root)
# Environment: JAVA_HOME, a JDK 25 (the builder's); GIT_COMMIT (default: this checkout's).
# Writes OUT_DIR/agent.tar (localhost/kubelet-server-cert-untaint:e2e) and OUT_DIR/pause.tar
# (localhost/pause:e2e), and prints the build time and the agent image's layer sizes.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:?usage: build.sh OUT_DIR}
AGENT_REF=localhost/kubelet-server-cert-untaint:e2e
PAUSE_REF=localhost/pause:e2e
BASE_REF=localhost/kscu-base:e2e
BUILDER_REF=localhost/kscu-builder:e2e
BASE_PACKAGES=(base-files netbase tzdata libc6 libssl3)
# What the Dockerfile's build stage runs besides java: bash scripts (mvnw, jlink/), coreutils, and
# wget + unzip for the Maven wrapper's download of Maven itself, objcopy for jlink (the temurin image has
# binutils too).
BUILDER_PACKAGES=(bash dash coreutils sed grep findutils gzip tar unzip wget ca-certificates binutils)

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
((EUID == 0)) || die "run as root: buildah builds with chroot isolation"
for tool in buildah jq gcc dpkg-query; do
	command -v "$tool" >/dev/null || die "$tool is missing (apt-get install buildah jq gcc)"
done
[[ -x ${JAVA_HOME:-}/bin/jlink ]] || die "JAVA_HOME must be a JDK 25 (the builder stand-in's): $JAVA_HOME"
# shellcheck source=packages.bash
source "$here/packages.bash"
# vfs: works in any container and on any kernel, where overlay may not.
buildah() { command buildah --storage-driver vfs "$@"; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
arch=$(dpkg --print-architecture)
work=$(mktemp -d "$out/.build.XXXXXX")
containers=()
cleanup() {
	((${#containers[@]} == 0)) || buildah rm "${containers[@]}" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# commit DIR REF [CONFIG...]: DIR as the one layer of image REF, with buildah config flags.
commit() {
	local dir=$1 ref=$2 c
	shift 2
	c=$(buildah from scratch)
	containers+=("$c")
	buildah copy --quiet "$c" "$dir" / >/dev/null
	buildah config --os linux --arch "$arch" "$@" "$c"
	buildah commit --quiet --rm "$c" "$ref" >/dev/null
	containers=()
}

start=$SECONDS

# --- the base stand-in: distroless base-debian12 from this host's packages -------------------------
base=$work/base
copy_packages "$base" "${BASE_PACKAGES[@]}"
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
commit "$base" "$BASE_REF" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

# --- the builder stand-in: the base, a shell and tools, this host's JDK ------------------------------
builder=$work/builder
cp -a "$base" "$builder"
mapfile -t packages < <(depends "${BUILDER_PACKAGES[@]}")
copy_packages "$builder" "${packages[@]}"
mkdir -p "$builder/opt/java"
cp -a "$(readlink -f "$JAVA_HOME")" "$builder/opt/java/openjdk"
# Links out of the JDK (Debian's packaging points cacerts at /etc/ssl/certs) would dangle: copy their
# targets instead.
find "$builder/opt/java/openjdk" -type l -lname '/*' | while IFS= read -r link; do
	cp --remove-destination "$(readlink -f "$JAVA_HOME/${link#"$builder/opt/java/openjdk/"}")" "$link"
done
# The root home the Maven wrapper and Maven write to.
sed -i 's|^root:x:0:0:root:/root:/sbin/nologin$|root:x:0:0:root:/root:/bin/bash|' "$builder/etc/passwd"
commit "$builder" "$BUILDER_REF" --env JAVA_HOME=/opt/java/openjdk \
	--env PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--env HOME=/root
log "stand-ins committed in $((SECONDS - start)) s: $BASE_REF, $BUILDER_REF (${#packages[@]} packages and the JDK)"

# --- the agent image: the Dockerfile ---------------------------------------------------------------
built=$SECONDS
buildah bud --isolation chroot --quiet --layers \
	--build-arg "BUILDER_IMAGE=$BUILDER_REF" --build-arg "BASE_IMAGE=$BASE_REF" \
	--build-arg "GIT_COMMIT=${GIT_COMMIT:-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)}" \
	-f "$repo/Dockerfile" -t "$AGENT_REF" "$repo" >/dev/null
log "the Dockerfile built $AGENT_REF in $((SECONDS - built)) s"

# --- pause: the sandbox image the node's containerd runs ------------------------------------------
mkdir -p "$work/pause"
gcc -static -Os -s -o "$work/pause/pause" "$here/pause.c"
commit "$work/pause" "$PAUSE_REF" --user 65535:65535 --entrypoint '["/pause"]'

# --- OCI archives ----------------------------------------------------------------------------------
# One layout per image, so each archive names exactly one image (io.containerd.image.name is what
# `ctr images import` reads).
archive() { # NAME REF: OUT/NAME.tar holding image REF
	local oci=$work/$1.oci ref=$2
	buildah push --quiet --format oci "$ref" "oci:$oci:e2e" >/dev/null
	jq --arg ref "$ref" '.manifests |= map(.annotations["io.containerd.image.name"] = $ref)' \
		"$oci/index.json" >"$oci/index.json.new"
	mv "$oci/index.json.new" "$oci/index.json"
	tar -C "$oci" -cf "$out/$1.tar" .
}
archive agent "$AGENT_REF"
archive pause "$PAUSE_REF"

# Compressed layer sizes, the figure a registry pull moves: the base stand-in's, then the Dockerfile's.
manifest=$(jq -r '.manifests[0].digest' "$work/agent.oci/index.json" | cut -d: -f2)
jq -r '.layers[] | "\(.size)"' "$work/agent.oci/blobs/sha256/$manifest" |
	awk '{ s += $1; printf "build.sh: agent layer %d: %.1f MB\n", NR, $1 / 1e6 } END { printf "build.sh: agent layers: %.1f MB\n", s / 1e6 }' >&2
log "wrote $out/agent.tar ($AGENT_REF) and $out/pause.tar ($PAUSE_REF) in $((SECONDS - start)) s"
