#!/usr/bin/env bash
# Builds a kind node image with no registry, for `make e2e` on a machine that has none (e2e/providers/
# kind.sh). `kind build node-image` cannot: it starts from kind's base image and fetches etcd, pause,
# CoreDNS, kindnetd and local-path images from registries. This makes the same contract from parts
# that are here:
# - the root filesystem: Debian bookworm from Debian's packages (mmdebstrap), the packages kind's
#   images/base/Dockerfile installs, with Debian's containerd, runc and CNI plugins in place of the
#   ones kind builds from source;
# - kind's own files (entrypoint, systemd units, containerd's config.toml, images/base/files), taken
#   from kind's module by tools/build.sh, and the Dockerfile's systemd trimming, done the same way;
# - kubeadm, kubelet, kubectl and crictl from tools/build.sh, /kind/version;
# - the images kubeadm runs, preloaded into containerd's k8s.io namespace as kind's build does it (a
#   container of the new root filesystem runs its own containerd and imports them): kube-apiserver,
#   kube-controller-manager, kube-scheduler, kube-proxy and etcd made of the binaries we build, and
#   the pause image e2e/image/build.sh makes for local-node, under the names kubeadm and containerd
#   look for. Not CoreDNS,
#   kindnetd or local-path: kind-config.offline.yaml skips CoreDNS and the default CNI.
#
# Usage: e2e/image/kind-node.sh REF PAUSE_ARCHIVE   (root; a running Docker engine, DOCKER_HOST
#   honoured). PAUSE_ARCHIVE: the pause.tar e2e/image/build.sh writes (an OCI archive).
# Environment: TOOLS_BIN (bin/tools after `tools/build.sh --only kubernetes,etcd,kind`),
#   DEBIAN_MIRROR (default http://deb.debian.org/debian), TMPDIR (the root filesystem is built there).
# Leaves the image REF in Docker and nothing else (its intermediate images and container are removed).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ref=${1:?usage: kind-node.sh REF PAUSE_ARCHIVE}
pause_archive=${2:?usage: kind-node.sh REF PAUSE_ARCHIVE}
TOOLS_BIN=${TOOLS_BIN:?TOOLS_BIN must name the tools directory}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# kind's base packages (images/base/Dockerfile) less what only storage tests and rootless use
# (nfs-common, open-iscsi, e2fsprogs, fuse-overlayfs), plus Debian's container runtime and CNI plugins.
NODE_PACKAGES=(systemd conntrack iptables nftables iproute2 ethtool util-linux mount kmod libseccomp2 pigz
	bash ca-certificates curl jq procps containerd runc containernetworking-plugins)
# Where the intermediate images live in Docker until they are imported into the node's containerd.
STAGING=localhost/kscu-kind-staging
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'kind-node.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
((EUID == 0)) || die "run as root: mmdebstrap builds the root filesystem in a chroot"
for tool in docker mmdebstrap jq; do
	command -v "$tool" >/dev/null || die "$tool is missing (apt-get install docker.io mmdebstrap jq)"
done
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"
for tool in kubeadm kubelet kubectl kube-proxy kube-apiserver kube-controller-manager kube-scheduler etcd crictl; do
	[[ -x $TOOLS_BIN/$tool ]] || die "$TOOLS_BIN/$tool is missing: run tools/build.sh --only kubernetes,etcd,kind"
done
base_files=$TOOLS_BIN/kind-base-files
[[ -f $base_files/usr/local/bin/entrypoint ]] || die "$base_files is missing: run tools/build.sh --only kind"
pause_name=$(tar -xOf "$pause_archive" ./index.json 2>/dev/null | jq -r '.manifests[0].annotations["io.containerd.image.name"] // empty') ||
	true
[[ -n $pause_name ]] || die "$pause_archive is not the OCI archive of a pause image (e2e/image/build.sh writes one)"

k8s_version=$("$TOOLS_BIN/kubelet" --version)
k8s_version=${k8s_version#Kubernetes }
etcd_version=$("$TOOLS_BIN/etcd" --version)
etcd_version=${etcd_version%%$'\n'*}
etcd_version=${etcd_version#etcd Version: }
pause_ref=$(sed -n 's/^ *sandbox_image *= *"\(.*\)"$/\1/p' "$base_files/etc/containerd/config.toml")
[[ -n $pause_ref ]] || die "no sandbox_image in kind's containerd config.toml"
# name -> the reference kubeadm (or containerd) runs it by. etcd's tag follows kubeadm's form
# (3.6.6-0); kind-config.offline.yaml points kubeadm at it.
declare -A images=(
	[kube-apiserver]=registry.k8s.io/kube-apiserver:$k8s_version
	[kube-controller-manager]=registry.k8s.io/kube-controller-manager:$k8s_version
	[kube-scheduler]=registry.k8s.io/kube-scheduler:$k8s_version
	[kube-proxy]=registry.k8s.io/kube-proxy:$k8s_version
	[etcd]=registry.k8s.io/etcd:$etcd_version-0
	[pause]=$pause_ref
)

work=$(mktemp -d "${TMPDIR:-/var/tmp}/kscu-kind-node.XXXXXX")
container=
cleanup() {
	[[ -z $container ]] || docker rm -f "$container" >/dev/null 2>&1 || true
	local name
	for name in rootfs "${!images[@]}"; do docker image rm "$STAGING/$name:build" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT
start=$SECONDS

# --- the root filesystem ------------------------------------------------------------------------------
r=$work/rootfs
mmdebstrap --quiet --variant=essential --include="$(
	IFS=,
	echo "${NODE_PACKAGES[*]}"
)" \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' bookworm "$r" "$MIRROR"
log "root filesystem from Debian bookworm in $((SECONDS - start)) s"

cp -R "$base_files/." "$r/"
chmod 755 "$r/kind" "$r/kind/bin" "$r"/kind/bin/*.sh "$r"/usr/local/bin/*
# kind's units and config name its own builds' paths.
ln -s /usr/bin/containerd /usr/bin/ctr /usr/bin/containerd-shim-runc-v2 "$r/usr/local/bin/"
mkdir -p "$r/opt/cni"
ln -s /usr/lib/cni "$r/opt/cni/bin"
chroot "$r" ctr oci spec |
	jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
	jq 'del(.process.rlimits)' >"$r/etc/containerd/cri-base.json"
# The Dockerfile's systemd trimming, as it does it.
find "$r/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
rm -f "$r"/lib/systemd/system/multi-user.target.wants/* "$r"/etc/systemd/system/*.wants/* \
	"$r"/lib/systemd/system/local-fs.target.wants/* "$r"/lib/systemd/system/sockets.target.wants/*udev* \
	"$r"/lib/systemd/system/sockets.target.wants/*initctl* "$r"/lib/systemd/system/basic.target.wants/*
echo ReadKMsg=no >>"$r/etc/systemd/journald.conf"
ln -sfn /usr/lib/systemd/systemd "$r/sbin/init"
systemctl --root="$r" --quiet enable kubelet.service containerd.service undo-mount-hacks.service
systemctl --root="$r" --quiet mask systemd-binfmt.service
mkdir -p "$r/etc/kubernetes/manifests"
# kind's containerd config lets the kubelet lower pods' OOM scores, which needs CAP_SYS_RESOURCE; a
# host that withholds it from containers (some sandboxed VMs do) would fail every pod in runc. Decided
# on the node at each start, as kind's entrypoint edits the same file for the snapshotter.
install -m 0755 /dev/stdin "$r/usr/local/bin/kscu-oom-score-adj" <<'EOF'
#!/bin/bash
# Without CAP_SYS_RESOURCE, containerd clamps pods' OOM scores to its own instead of failing them.
set -eu
cap=$(sed -n 's/^CapEff:\t*//p' /proc/self/status)
if (((0x$cap >> 24 & 1) == 0)); then
	sed -i 's/^\( *restrict_oom_score_adj\) = false/\1 = true/' /etc/containerd/config.toml
fi
EOF
mkdir -p "$r/etc/systemd/system/containerd.service.d"
printf '[Service]\nExecStartPre=/usr/local/bin/kscu-oom-score-adj\n' >"$r/etc/systemd/system/containerd.service.d/10-kscu-oom-score-adj.conf"
install -m 0755 "$TOOLS_BIN/kubeadm" "$TOOLS_BIN/kubelet" "$TOOLS_BIN/kubectl" "$r/usr/bin/"
install -m 0755 "$TOOLS_BIN/crictl" "$r/usr/local/bin/"
echo "$k8s_version" >"$r/kind/version"
rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* "$r"/var/log/*.log

# --- the images kubeadm runs ----------------------------------------------------------------------------
# stage NAME DIR CHANGE...: DIR as the one layer of $STAGING/NAME:build.
stage() {
	local name=$1 dir=$2 args=() c
	shift 2
	for c; do args+=(--change "$c"); done
	tar -C "$dir" -c . | docker import "${args[@]}" - "$STAGING/$name:build" >/dev/null
}
for name in kube-apiserver kube-controller-manager kube-scheduler etcd; do
	mkdir -p "$work/$name/usr/local/bin" "$work/$name/tmp"
	chmod 1777 "$work/$name/tmp"
	cp "$TOOLS_BIN/$name" "$work/$name/usr/local/bin/"
	stage "$name" "$work/$name" "ENV $PATH_ENV"
done
# kube-proxy programs iptables: the node's iptables (nft backend, Debian's default) and what it needs.
(
	PKG_ROOT=$r
	# shellcheck source=packages.bash
	source "$here/packages.bash"
	mapfile -t packages < <(depends iptables)
	copy_packages "$work/kube-proxy" "${packages[@]}"
)
# The commands themselves (iptables -> /etc/alternatives/iptables -> xtables-nft-multi) are
# update-alternatives' links, in no package's file list.
mkdir -p "$work/kube-proxy/etc/alternatives" "$work/kube-proxy/usr/local/bin"
cp -P "$r"/etc/alternatives/*tables* "$work/kube-proxy/etc/alternatives/"
find "$r/usr/sbin" -name '*tables*' -lname '/etc/alternatives/*' -exec cp -P -t "$work/kube-proxy/usr/sbin/" {} +
cp "$TOOLS_BIN/kube-proxy" "$work/kube-proxy/usr/local/bin/"
stage kube-proxy "$work/kube-proxy" "ENV $PATH_ENV"
# name -> its reference once imported into the node's containerd, before it is tagged as kubeadm
# and containerd look for it.
declare -A imported=()
staged=()
for name in "${!images[@]}"; do
	[[ $name == pause ]] && continue
	imported[$name]=$STAGING/$name:build
	staged+=("${imported[$name]}")
done
imported[pause]=$pause_name
docker save -o "$work/images.tar" "${staged[@]}"
log "images for ${!images[*]} in $((SECONDS - start)) s"

# --- the node image: the root filesystem, the images imported by its own containerd ---------------------
tar -C "$r" -c . | docker import - "$STAGING/rootfs:build" >/dev/null
container=$(docker run -d --entrypoint=sleep --security-opt seccomp=unconfined "$STAGING/rootfs:build" infinity)
node() { docker exec -i "$container" "$@"; }
node bash -c 'nohup containerd >/var/log/containerd-build.log 2>&1 &'
for _ in $(seq 100); do
	if node ctr version >/dev/null 2>&1; then break; fi
	sleep 0.2
done
node ctr version >/dev/null || die "containerd did not start in the build container: $(node cat /var/log/containerd-build.log)"
for archive in "$work/images.tar" "$pause_archive"; do
	node ctr --namespace=k8s.io images import --no-unpack - <"$archive" >/dev/null
done
for name in "${!images[@]}"; do
	[[ ${imported[$name]} != "${images[$name]}" ]] || continue
	node ctr --namespace=k8s.io images tag --force "${imported[$name]}" "${images[$name]}" >/dev/null
	node ctr --namespace=k8s.io images rm "${imported[$name]}" >/dev/null
done
node ctr --namespace=k8s.io images ls -q | sort >"$work/preloaded"
for name in "${!images[@]}"; do
	grep -qxF "${images[$name]}" "$work/preloaded" || die "${images[$name]} is not in the node's containerd"
done
node pkill containerd
for _ in $(seq 100); do node pgrep -x containerd >/dev/null || break; sleep 0.1; done
node rm -f /var/log/containerd-build.log
# Not kind's STOPSIGNAL SIGRTMIN+3: Docker's --change cannot set it. kind removes nodes with `docker rm
# -f`, which kills them whatever the signal; only a `docker stop` of a node waits out its timeout.
docker commit --change 'ENV container=docker' \
	--change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
	"$container" "$ref" >/dev/null
log "built $ref in $((SECONDS - start)) s: $(docker image inspect -f '{{.Size}}' "$ref" | awk '{ printf "%.0f MB", $1 / 1e6 }'), Kubernetes $k8s_version, etcd $etcd_version"
