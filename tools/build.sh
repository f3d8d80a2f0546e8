#!/usr/bin/env bash
# Builds the binaries the tests run (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kubectl, kustomize,
# toxiproxy-server for the fault tier, Karpenter with its kwok provider plus
# kwok for the Karpenter tier, promtool for the alert rules, actionlint for the
# workflows, helm v3 and v4 for the chart) from Go modules: release downloads are
# not reachable from our machines, the Go module proxy is. Results are cached
# outside the repo, one directory per tool and version, so a cold build (~tens
# of minutes on 2 cores, almost all of it Kubernetes) happens once per machine
# and version; later runs only check the cache and never start go.
#
# Usage: tools/build.sh [--only NAME,...] [--link DIR]
#   Builds what is missing (with --only, just those: kubernetes, etcd, kustomize,
#   toxiproxy, actionlint, kube-apiserver-oldest, karpenter, kwok, promtool, helm,
#   helm4, kustomize-matrix, flux; and kind, only when named: kind, crictl,
#   kubeadm, kube-proxy and kind's node image files, for make e2e), refreshes
#   the symlinks in <cache>/bin-current/ (and in DIR with --link) and prints
#   KEY=path lines on stdout:
#   TOOLS_CACHE, KUBERNETES_BIN, ETCD_BIN, KUSTOMIZE_BIN, TOXIPROXY_BIN,
#   KARPENTER_BIN, KWOK_BIN, PROMTOOL_BIN, ACTIONLINT_BIN, HELM_BIN, HELM4_BIN,
#   TOOLS_BIN (the symlink directory; helm v4 is linked there as helm4). Progress goes
#   to stderr. Besides the binaries, TOOLS_BIN holds karpenter-crds/ (the
#   CRDs of that Karpenter and of its kwok NodeClass) and kwok-stages.yaml, and
#   for the client matrix kustomize-vX.Y.Z, kube-apiserver-oldest,
#   kustomize-controller and flux-crds/; with kind, kind-base-files/ (kind's
#   images/base/files, what its node image is made of).
# Environment: K8S_VERSION, ETCD_VERSION, KUSTOMIZE_VERSION, TOXIPROXY_VERSION,
#   KUSTOMIZE_MATRIX, FLUX_VERSION, K8S_OLDEST_VERSION,
#   KARPENTER_VERSION, KWOK_VERSION, PROMETHEUS_VERSION, ACTIONLINT_VERSION,
#   HELM_VERSION, HELM4_VERSION, KIND_VERSION, CRICTL_VERSION override the
#   pins below; KSCU_TOOLS_CACHE overrides the cache root;
#   SOURCE_DATE_EPOCH fixes the Kubernetes buildDate; K8S_GIT_COMMIT sets its
#   gitCommit (the module proxy does not say which commit a tag is, so it is
#   empty by default).
set -euo pipefail

# The pins. They match tools/k8s/go.mod and tools/etcd/go.mod; a
# different version given here is built from a scratch copy of that module
# retargeted with `go mod edit` + `go mod tidy` (the repo is never changed).
# kustomize is the newest release whose go.mod our Go 1.26 can build
# (v5.8.3 declares go 1.27.0 and GOTOOLCHAIN=local forbids switching).
K8S_VERSION=${K8S_VERSION:-v1.35.8}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-v5.8.2}
TOXIPROXY_VERSION=${TOXIPROXY_VERSION:-v2.5.0}
# Karpenter's go.mod asks for Go 1.26.9, newer than the machines' 1.26.8: this
# build alone fetches that toolchain through the module proxy (GOTOOLCHAIN).
KARPENTER_VERSION=${KARPENTER_VERSION:-v1.15.0}
KARPENTER_GO=${KARPENTER_GO:-go1.26.9}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
# Prometheus v3.x is tagged v0.3xx.y in its Go module.
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-v1.7.12}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
HELM4_VERSION=${HELM4_VERSION:-v4.3.1}
K8S_GIT_COMMIT=${K8S_GIT_COMMIT:-}
# make e2e: kind, and what its offline node image needs besides the Kubernetes above (e2e/image/
# kind-node.sh). crictl v1.34.0: v1.35.0 is not served by the module proxy here; crictl speaks the
# same CRI v1 to any containerd.
KIND_VERSION=${KIND_VERSION:-v0.33.0}
CRICTL_VERSION=${CRICTL_VERSION:-v1.34.0}
# The client matrix (ClientMatrixIT). kustomize as kubectl 1.31, 1.32, 1.33, 1.34-1.35 and 1.36 embed it
# (k8s.io/kubectl's go.mod); v5.8.1 is also what Argo CD v3.4 and v3.5 bundle (hack/tool-versions.sh) and
# what Flux's kustomize-controller v1.9 links. Not v5.8.3 (Argo CD v3.6's): one of its dependencies, a
# kube-openapi pseudo-version, is refused by the module proxy here. Flux's kustomize-controller: v1.9.6,
# because v1.10's dependencies are not all served by the module proxy here; the ExternalArtifact CRD
# it reads comes from source-controller of the same release. And kube-apiserver of the oldest
# Kubernetes the admission policy supports.
KUSTOMIZE_MATRIX=${KUSTOMIZE_MATRIX:-v5.4.2 v5.5.0 v5.6.0 v5.7.1 v5.8.1}
FLUX_VERSION=${FLUX_VERSION:-v1.9.6}
K8S_OLDEST_VERSION=${K8S_OLDEST_VERSION:-v1.32.13}

CACHE_ROOT=${KSCU_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelet-server-cert-untaint/tools}
TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
# What a kubeadm node adds (the kind tool).
K8S_NODE_BINS=(kubeadm kube-proxy)

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
usage() { sed -n '12,34s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

link_dir=
only=
# option NAME VALUE: --link DIR, --only LIST (each also as --NAME=VALUE).
option() {
	case $1 in
	--link) link_dir=$2 ;;
	--only) only=$2 ;;
	esac
}
while (($#)); do
	case $1 in
	--link | --only)
		(($# >= 2)) || die "$1 needs a value (--link DIR, --only NAME,...)"
		option "$1" "$2"
		shift 2
		;;
	--link=* | --only=*)
		option "${1%%=*}" "${1#*=}"
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
done

TOOL_NAMES=(kubernetes etcd kustomize toxiproxy actionlint kube-apiserver-oldest karpenter kwok promtool helm
	helm4 kustomize-matrix flux kind)
for name in ${only//,/ }; do
	[[ " ${TOOL_NAMES[*]} " == *" $name "* ]] || die "--only: no tool '$name' (known: ${TOOL_NAMES[*]})"
done

mkdir -p "$CACHE_ROOT"
# Absolute, so the symlinks work from wherever they are placed.
CACHE_ROOT=$(cd "$CACHE_ROOT" && pwd -P)

# Temp build dirs to drop if we stop before moving them into place.
TMP_DIRS=()
trap 'rm -rf "${TMP_DIRS[@]}"' EXIT

# is_complete DIR BIN...: the directory was moved into place whole (the
# marker is written before the mv) and still has every binary.
is_complete() {
	local dir=$1 b
	shift
	[[ -f $dir/.complete ]] || return 1
	for b; do [[ -x $dir/bin/$b ]] || return 1; done
}

# ensure TOOL VERSION BUILD_FN BIN...: makes $CACHE_ROOT/TOOL-VERSION/bin hold
# BIN..., calling BUILD_FN OUT_DIR to build them if it does not yet.
ensure() {
	local tool=$1 version=$2 fn=$3
	shift 3
	local dir=$CACHE_ROOT/$tool-$version
	if is_complete "$dir" "$@"; then return 0; fi

	# One builder per tool and version; another caller waits, then finds the
	# finished directory and builds nothing.
	local fd
	exec {fd}>"$CACHE_ROOT/.$tool-$version.lock"
	if ! flock -n "$fd"; then
		log "waiting for another build of $tool $version to finish"
		flock "$fd"
	fi
	if ! is_complete "$dir" "$@"; then
		command -v go >/dev/null || die "go is needed to build $tool $version"
		# We hold the lock, so these are left over from a killed build.
		rm -rf "$CACHE_ROOT/.tmp-$tool-$version".* "$dir"
		local tmp start=$SECONDS b
		tmp=$(mktemp -d "$CACHE_ROOT/.tmp-$tool-$version.XXXXXX")
		TMP_DIRS+=("$tmp")
		mkdir "$tmp/bin" "$tmp/src"
		log "building $tool $version in $tmp"
		"$fn" "$tmp"
		for b; do [[ -x $tmp/bin/$b ]] || die "$tool $version: $b was not built"; done
		rm -rf "$tmp/src"
		local go_version built
		go_version=$(GOTOOLCHAIN=${TOOL_GOTOOLCHAIN:-${GOTOOLCHAIN:-local}} go env GOVERSION)
		built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
		printf 'tool=%s\nversion=%s\ngo=%s\nbuilt=%s\nseconds=%s\n' \
			"$tool" "$version" "$go_version" "$built" "$((SECONDS - start))" >"$tmp/.complete"
		mv -T "$tmp" "$dir"
		log "built $tool $version in $((SECONDS - start)) s"
	fi
	exec {fd}>&-
}

# Copies wrapper module $1 into $2 and, if its requirement on module $3 is not
# version $4, retargets the copy (plus any extra `go mod edit` flags in $5...).
prepare_module() {
	local from=$1 to=$2 mod=$3 want=$4
	shift 4
	cp -R "$from/." "$to"
	local pinned
	pinned=$(cd "$to" && go list -m -f '{{.Version}}' "$mod")
	if [[ $pinned != "$want" ]]; then
		log "$mod $want is not the $pinned pinned in ${from#"$TOOLS_DIR"/}/go.mod: retargeting a scratch copy"
		(cd "$to" && go mod edit "-require=$mod@$want" "$@" && go mod tidy)
	fi
}

# build_k8s OUT BIN...: those commands of k8s.io/kubernetes at K8S_VERSION, as a release builds them.
build_k8s() {
	local out=$1 src=$1/src
	shift
	# Every staging module follows kubernetes v1.X.Y as v0.X.Y (see go.mod).
	local staging=v0.${K8S_VERSION#v1.} replaced m edits=()
	replaced=$(awk '$1 ~ /^k8s\.io\// && $2 == "=>" { print $1 }' "$TOOLS_DIR/k8s/go.mod")
	[[ -n $replaced ]] || die "no k8s.io replace directives in k8s/go.mod"
	for m in $replaced; do edits+=("-replace=$m=$m@$staging"); done
	prepare_module "$TOOLS_DIR/k8s" "$src" k8s.io/kubernetes "$K8S_VERSION" "${edits[@]}"

	# What hack/lib/version.sh gives a release build, in both version packages
	# (client-go's feeds kubectl's client side); -s -w as in upstream releases.
	local v=${K8S_VERSION#v} date_args=() build_date ldflags="-s -w" pkg
	if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then date_args=(--date="@$SOURCE_DATE_EPOCH"); fi
	build_date=$(date -u "${date_args[@]}" +%Y-%m-%dT%H:%M:%SZ)
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=${v%%.*}"
		ldflags+=" -X $pkg.gitMinor=$(cut -d. -f2 <<<"$v") -X $pkg.gitTreeState=clean"
		ldflags+=" -X $pkg.gitCommit=$K8S_GIT_COMMIT -X $pkg.buildDate=$build_date"
	done

	# One go build for all, so the packages they share compile once.
	# CGO off: static binaries, as upstream builds them, and no C toolchain.
	local pkgs=() b got
	for b; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
	(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/bin/" "${pkgs[@]}")

	for b in kube-apiserver kube-proxy; do
		[[ -x $out/bin/$b ]] || continue
		got=$("$out/bin/$b" --version)
		[[ $got == "Kubernetes $K8S_VERSION" ]] || die "$b --version says '$got'"
	done
}
build_kubernetes() { build_k8s "$1" "${K8S_BINS[@]}"; }
build_kubernetes_node() { build_k8s "$1" "${K8S_NODE_BINS[@]}"; }

# build_kind OUT: kind, and the files its node images are made of (images/base/files), which
# e2e/image/kind-node.sh puts into the node image it builds offline.
build_kind() {
	local out=$1 src got
	GOBIN=$out/bin CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
	got=$("$out/bin/kind" version)
	[[ $got == "kind $KIND_VERSION "* ]] || die "kind version says '$got'"
	src=$(module_dir "$out" "sigs.k8s.io/kind@$KIND_VERSION")
	[[ -f $src/images/base/files/usr/local/bin/entrypoint ]] || die "kind $KIND_VERSION has no node entrypoint"
	cp -R "$src/images/base/files" "$out/base-files"
	chmod -R u+w "$out/base-files"
}

build_crictl() {
	local out=$1 got
	GOBIN=$out/bin CGO_ENABLED=0 go install -trimpath \
		-ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
		"sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
	got=$("$out/bin/crictl" --version)
	[[ $got == "crictl version $CRICTL_VERSION" ]] || die "crictl --version says '$got'"
}

build_etcd() {
	local out=$1 src=$1/src
	prepare_module "$TOOLS_DIR/etcd" "$src" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
	(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" .)

	# First line only; no `| head -n 1`: under pipefail, etcd could die of
	# SIGPIPE while printing the lines after it.
	local got
	got=$("$out/bin/etcd" --version)
	got=${got%%$'\n'*}
	[[ $got == "etcd Version: ${ETCD_VERSION#v}" ]] || die "etcd --version says '$got'"
}

# build_kustomize OUT [VERSION]: the pinned kustomize, or VERSION.
build_kustomize() {
	local out=$1 version=${2:-$KUSTOMIZE_VERSION} got
	# Releases before v5.5 take their version only from the linker, as their release builds set it.
	GOBIN=$out/bin CGO_ENABLED=0 go install -trimpath \
		-ldflags "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$version" \
		"sigs.k8s.io/kustomize/kustomize/v5@$version"
	got=$("$out/bin/kustomize" version)
	[[ $got == "$version" ]] || die "kustomize version says '$got'"
}

# build_kube_apiserver_oldest OUT: kube-apiserver alone, at K8S_OLDEST_VERSION, from a module of its own
# (retargeting the pinned one would keep its newer dependencies, which an older Kubernetes does not build
# with). The staging modules are replaced by their published versions, as k8s/go.mod does.
build_kube_apiserver_oldest() {
	local out=$1 src=$1/src/module gomod staging=v0.${K8S_OLDEST_VERSION#v1.} m edits=() v=${K8S_OLDEST_VERSION#v}
	mkdir -p "$src"
	gomod=$(cd "$out/src" && go mod download -json "k8s.io/kubernetes@$K8S_OLDEST_VERSION" |
		sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
	[[ -f $gomod ]] || die "no go.mod for k8s.io/kubernetes $K8S_OLDEST_VERSION"
	local replaced
	replaced=$(awk '$1 ~ /^k8s\.io\// && $2 == "=>" && $3 ~ /^\.\/staging/ { print $1 }' "$gomod")
	for m in $replaced; do edits+=("-replace=$m=$m@$staging"); done
	((${#edits[@]})) || die "k8s.io/kubernetes $K8S_OLDEST_VERSION: no staging replace directives"
	printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >"$src/tools.go"
	(cd "$src" && go mod init kscu-tools-kube-apiserver >/dev/null 2>&1 &&
		go mod edit "-require=k8s.io/kubernetes@$K8S_OLDEST_VERSION" "${edits[@]}" && go mod tidy)
	local ldflags="-s -w" pkg
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$K8S_OLDEST_VERSION -X $pkg.gitMajor=${v%%.*}"
		ldflags+=" -X $pkg.gitMinor=$(cut -d. -f2 <<<"$v") -X $pkg.gitTreeState=clean"
	done
	(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/bin/" k8s.io/kubernetes/cmd/kube-apiserver)
	local got
	got=$("$out/bin/kube-apiserver" --version)
	[[ $got == "Kubernetes $K8S_OLDEST_VERSION" ]] || die "kube-apiserver --version says '$got'"
}

# build_flux OUT: Flux's kustomize-controller, built as its own main module (its go.mod pins kustomize
# with replace directives, which `go install module@version` refuses), and the CRDs it needs: its
# Kustomization and source-controller's kinds (ExternalArtifact among them).
build_flux() {
	local out=$1 src crds
	src=$(module_dir "$out" "github.com/fluxcd/kustomize-controller@$FLUX_VERSION")
	cp -R "$src" "$out/src/kustomize-controller"
	chmod -R u+w "$out/src/kustomize-controller"
	# Its api/ is a module of its own, left out of the module's zip: take the published one of the same
	# version, which go.mod requires anyway.
	(cd "$out/src/kustomize-controller" &&
		go mod edit -dropreplace=github.com/fluxcd/kustomize-controller/api && go mod tidy &&
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/bin/kustomize-controller" .)
	crds=$(module_dir "$out" "github.com/fluxcd/source-controller@$FLUX_VERSION")
	mkdir "$out/crds"
	# Every source kind: the controller watches them all, and waits for each one's CRD before it starts.
	cp "$src/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml" "$crds"/config/crd/bases/*.yaml \
		"$out/crds/"
	chmod u+w "$out"/crds/*.yaml
	[[ -f $out/crds/source.toolkit.fluxcd.io_externalartifacts.yaml ]] ||
		die "source-controller $FLUX_VERSION has no ExternalArtifact CRD"
}

build_toxiproxy() {
	local out=$1 got
	# The module's server command is named "server"; installed under its upstream name.
	GOBIN=$out/src CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
		"github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
	mv "$out/src/server" "$out/bin/toxiproxy-server"
	got=$("$out/bin/toxiproxy-server" -version 2>&1 || true)
	[[ -n $got ]] || die "toxiproxy-server -version printed nothing"
}

# module_dir OUT MODULE@VERSION: where the module's source is in the module
# cache (downloaded if needed), for files a build takes from it besides the
# binary. `go mod download` runs in an empty module of its own under OUT/src.
module_dir() {
	local out=$1 dir
	mkdir -p "$out/src/download"
	if [[ ! -f $out/src/download/go.mod ]]; then
		(cd "$out/src/download" && go mod init kscu-tools-download >/dev/null 2>&1)
	fi
	dir=$(cd "$out/src/download" && go mod download -json "$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[[ -d $dir ]] || die "go mod download $2 gave no source directory"
	printf '%s\n' "$dir"
}

build_karpenter() {
	local out=$1 src
	# The kwok provider's main is Karpenter's core with a cloud provider that creates Node objects
	# itself (a kwok node has no kubelet); it is what Karpenter's own e2e tests run.
	GOBIN=$out/src CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/karpenter/kwok@$KARPENTER_VERSION"
	mv "$out/src/kwok" "$out/bin/karpenter"
	src=$(module_dir "$out" "sigs.k8s.io/karpenter@$KARPENTER_VERSION")
	mkdir "$out/crds"
	cp "$src"/pkg/apis/crds/*.yaml "$src"/kwok/apis/crds/*.yaml "$out/crds/"
	chmod u+w "$out"/crds/*.yaml
	[[ -f $out/crds/karpenter.sh_nodepools.yaml && -f $out/crds/karpenter.kwok.sh_kwoknodeclasses.yaml ]] ||
		die "karpenter $KARPENTER_VERSION: the NodePool or KWOKNodeClass CRD is missing"
}

build_kwok() {
	local out=$1 src f
	GOBIN=$out/bin CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	# kwok itself ships no default behaviour: these stages (from its module) make a node Ready and keep
	# it so, and run the pods bound to it, as kwokctl would configure it.
	src=$(module_dir "$out" "sigs.k8s.io/kwok@$KWOK_VERSION")
	for f in node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete \
		pod/fast/pod-delete; do
		[[ -f $src/kustomize/stage/$f.yaml ]] || die "kwok $KWOK_VERSION has no stage $f"
		printf -- '---\n' >>"$out/stages.yaml"
		cat "$src/kustomize/stage/$f.yaml" >>"$out/stages.yaml"
	done
}

build_promtool() {
	local out=$1
	# remove_all_sd leaves out the service discovery plugins (cloud SDKs) that rule tests never use:
	# a third of the build.
	GOBIN=$out/bin CGO_ENABLED=0 go install -trimpath -tags remove_all_sd -ldflags "-s -w" \
		"github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
	"$out/bin/promtool" --version >/dev/null || die "promtool --version failed"
}

build_actionlint() {
	local out=$1 got
	GOBIN=$out/bin CGO_ENABLED=0 go install -trimpath -ldflags "-s -w -X main.version=$ACTIONLINT_VERSION" \
		"github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
	got=$("$out/bin/actionlint" -version)
	[[ $got == "$ACTIONLINT_VERSION"* ]] || die "actionlint -version says '$got'"
}

# build_helm MAJOR VERSION OUT: helm.sh/helm/vMAJOR's helm command, with its version stamped as the
# release builds do.
build_helm() {
	local major=$1 version=$2 out=$3 got
	GOBIN=$out/bin CGO_ENABLED=0 go install -trimpath \
		-ldflags "-s -w -X helm.sh/helm/v$major/internal/version.version=$version" \
		"helm.sh/helm/v$major/cmd/helm@$version"
	got=$("$out/bin/helm" version --template '{{.Version}}')
	[[ $got == "$version" ]] || die "helm version says '$got'"
}
build_helm3() { build_helm 3 "$HELM_VERSION" "$1"; }
build_helm4() { build_helm 4 "$HELM4_VERSION" "$1"; }

# The copies in the cache are built on their own: no workspace of the caller's.
export GOWORK=off

# Two lanes at once, of about equal work on 2 cores (measured cold: Kubernetes about as long as
# Karpenter, kwok, promtool and both helms together). A cold build spends much of its time
# downloading modules, which overlaps with the other lane's compiling; on a machine with everything
# cached each lane only checks its directories.
# wanted NAME: true without --only, else when NAME is in its list. named NAME: only when in the list.
wanted() { [[ -z $only || ,$only, == *,"$1",* ]]; }
named() { [[ ,$only, == *,"$1",* ]]; }
kubernetes_lane() {
	if wanted kubernetes; then ensure kubernetes "$K8S_VERSION" build_kubernetes "${K8S_BINS[@]}"; fi
	if wanted etcd; then ensure etcd "$ETCD_VERSION" build_etcd etcd; fi
	if wanted kustomize; then ensure kustomize "$KUSTOMIZE_VERSION" build_kustomize kustomize; fi
	if wanted toxiproxy; then ensure toxiproxy "$TOXIPROXY_VERSION" build_toxiproxy toxiproxy-server; fi
	if wanted actionlint; then ensure actionlint "$ACTIONLINT_VERSION" build_actionlint actionlint; fi
	if wanted kube-apiserver-oldest; then
		ensure kube-apiserver "$K8S_OLDEST_VERSION" build_kube_apiserver_oldest kube-apiserver
	fi
	# After Kubernetes: kubeadm and kube-proxy reuse its compiled packages from Go's build cache.
	if named kind; then
		ensure kubernetes-node "$K8S_VERSION" build_kubernetes_node "${K8S_NODE_BINS[@]}"
		ensure kind "$KIND_VERSION" build_kind kind
		ensure crictl "$CRICTL_VERSION" build_crictl crictl
	fi
}
other_lane() {
	if wanted karpenter; then
		TOOL_GOTOOLCHAIN=$KARPENTER_GO GOTOOLCHAIN=$KARPENTER_GO ensure karpenter "$KARPENTER_VERSION" build_karpenter karpenter
	fi
	if wanted kwok; then ensure kwok "$KWOK_VERSION" build_kwok kwok; fi
	if wanted promtool; then ensure promtool "$PROMETHEUS_VERSION" build_promtool promtool; fi
	if wanted helm; then ensure helm "$HELM_VERSION" build_helm3 helm; fi
	if wanted helm4; then ensure helm "$HELM4_VERSION" build_helm4 helm; fi
	local k
	if wanted kustomize-matrix; then
		for k in $KUSTOMIZE_MATRIX; do
			KUSTOMIZE_BUILDING=$k ensure kustomize "$k" build_kustomize_matrix kustomize
		done
	fi
	if wanted flux; then ensure flux-kustomize-controller "$FLUX_VERSION" build_flux kustomize-controller; fi
}
# ensure passes only OUT: the version comes from the caller's KUSTOMIZE_BUILDING.
build_kustomize_matrix() { build_kustomize "$1" "$KUSTOMIZE_BUILDING"; }
# Each lane is a subshell with its own clean-up of unfinished build directories.
lane() { (
	TMP_DIRS=()
	trap 'rm -rf "${TMP_DIRS[@]}"' EXIT
	"$1"
); }
lane kubernetes_lane &
kubernetes_pid=$!
lane other_lane &
other_pid=$!
failed=0
wait "$kubernetes_pid" || failed=1
wait "$other_pid" || failed=1
((failed == 0)) || die "a tool build failed (its error is above)"

K8S_DIR=$CACHE_ROOT/kubernetes-$K8S_VERSION/bin
ETCD_DIR=$CACHE_ROOT/etcd-$ETCD_VERSION/bin
KUSTOMIZE_DIR=$CACHE_ROOT/kustomize-$KUSTOMIZE_VERSION/bin
TOXIPROXY_DIR=$CACHE_ROOT/toxiproxy-$TOXIPROXY_VERSION/bin
KARPENTER_DIR=$CACHE_ROOT/karpenter-$KARPENTER_VERSION/bin
KWOK_DIR=$CACHE_ROOT/kwok-$KWOK_VERSION/bin
PROMTOOL_DIR=$CACHE_ROOT/promtool-$PROMETHEUS_VERSION/bin
ACTIONLINT_DIR=$CACHE_ROOT/actionlint-$ACTIONLINT_VERSION/bin
HELM_DIR=$CACHE_ROOT/helm-$HELM_VERSION/bin
HELM4_DIR=$CACHE_ROOT/helm-$HELM4_VERSION/bin
KARPENTER_CRDS=$CACHE_ROOT/karpenter-$KARPENTER_VERSION/crds
KWOK_STAGES=$CACHE_ROOT/kwok-$KWOK_VERSION/stages.yaml
OLDEST_APISERVER=$CACHE_ROOT/kube-apiserver-$K8S_OLDEST_VERSION/bin/kube-apiserver
FLUX_DIR=$CACHE_ROOT/flux-kustomize-controller-$FLUX_VERSION
K8S_NODE_DIR=$CACHE_ROOT/kubernetes-node-$K8S_VERSION/bin
KIND_DIR=$CACHE_ROOT/kind-$KIND_VERSION
CRICTL_DIR=$CACHE_ROOT/crictl-$CRICTL_VERSION/bin

# link_all DIR: DIR/<name> -> the cached binary (or file, or directory), for all of them. Each link is
# replaced by a rename, so a reader never sees it missing.
link_all() {
	local dir=$1 b target
	mkdir -p "$dir"
	for target in "${K8S_BINS[@]/#/$K8S_DIR/}" "$ETCD_DIR/etcd" "$KUSTOMIZE_DIR/kustomize" \
		"$TOXIPROXY_DIR/toxiproxy-server" "$KARPENTER_DIR/karpenter" "$KARPENTER_CRDS" \
		"$KWOK_DIR/kwok" "$KWOK_STAGES" "$PROMTOOL_DIR/promtool" "$ACTIONLINT_DIR/actionlint" \
		"$HELM_DIR/helm" "$HELM4_DIR/helm"; do
		[[ -e $target ]] || continue # not built by this --only run
		b=${target##*/}
		case $target in
		"$KARPENTER_CRDS") b=karpenter-crds ;;
		"$KWOK_STAGES") b=kwok-stages.yaml ;;
		"$HELM4_DIR/helm") b=helm4 ;;
		esac
		ln -sfn "$target" "$dir/.$b.tmp.$$"
		mv -Tf "$dir/.$b.tmp.$$" "$dir/$b"
	done
	# The client matrix, by the names ClientMatrixIT looks for.
	local k
	for k in $KUSTOMIZE_MATRIX $KUSTOMIZE_VERSION; do
		link_one "$CACHE_ROOT/kustomize-$k/bin/kustomize" "$dir/kustomize-$k"
	done
	link_one "$OLDEST_APISERVER" "$dir/kube-apiserver-oldest"
	link_one "$FLUX_DIR/bin/kustomize-controller" "$dir/kustomize-controller"
	link_one "$FLUX_DIR/crds" "$dir/flux-crds"
	local b
	for b in "${K8S_NODE_BINS[@]}"; do link_one "$K8S_NODE_DIR/$b" "$dir/$b"; done
	link_one "$KIND_DIR/bin/kind" "$dir/kind"
	link_one "$KIND_DIR/base-files" "$dir/kind-base-files"
	link_one "$CRICTL_DIR/crictl" "$dir/crictl"
}
link_one() {
	[[ -e $1 ]] || return 0
	ln -sfn "$1" "$2.tmp.$$"
	mv -Tf "$2.tmp.$$" "$2"
}

link_all "$CACHE_ROOT/bin-current"
tools_bin=$CACHE_ROOT/bin-current
if [[ -n $link_dir ]]; then
	link_all "$link_dir"
	tools_bin=$(cd "$link_dir" && pwd)
fi

printf '%s=%s\n' \
	TOOLS_CACHE "$CACHE_ROOT" \
	KUBERNETES_BIN "$K8S_DIR" \
	ETCD_BIN "$ETCD_DIR" \
	KUSTOMIZE_BIN "$KUSTOMIZE_DIR" \
	TOXIPROXY_BIN "$TOXIPROXY_DIR" \
	KARPENTER_BIN "$KARPENTER_DIR" \
	KWOK_BIN "$KWOK_DIR" \
	PROMTOOL_BIN "$PROMTOOL_DIR" \
	ACTIONLINT_BIN "$ACTIONLINT_DIR" \
	HELM_BIN "$HELM_DIR" \
	HELM4_BIN "$HELM4_DIR" \
	TOOLS_BIN "$tools_bin"
