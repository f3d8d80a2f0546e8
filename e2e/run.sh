#!/usr/bin/env bash
# Runs the e2e scenarios (e2e/scenarios/*.bats) on one cluster provider, end to end: builds the image,
# brings the cluster up, installs the agent from kustomize/overlays/generic (plus the e2e components),
# runs the scenarios, and tears everything down, also when something fails (then it first prints the
# agent's and the kubelet's logs).
#
# Three passes over one node: `kubelet` (the overlay as shipped, cert source kubelet) runs all scenarios;
# `file` (the file-source component added) runs scenarios 1 and 2 again on the node reset to a fresh
# one (no serving certificate, the startup taint, a new pending CSR); `condition` (components/
# node-condition added) runs scenarios 1 and 5 on the node reset again.
#
# Usage: e2e/run.sh PROVIDER                          (PROVIDER local-node or kind)
#        e2e/run.sh PROVIDER --check                  can this machine run it? One line if not.
#        e2e/run.sh PROVIDER --kustomization PASS DIR write what PASS installs into DIR, and exit
# Environment: TOOLS_BIN (default bin/tools, from `make tools`), E2E_OUT (default
#   target/e2e/PROVIDER: PASS/report.xml, bats' JUnit report of each pass; phases.tsv; latency.txt;
#   logs/), E2E_PASSES (default "kubelet file condition").
# `make e2e-node` and `make e2e` run it. Each @test is a test case of the JUnit reports; a skipped one
# fails the run, as does any failure in set-up or clean-up (something left behind included).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
log() { printf 'e2e: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

provider=${1:-}
mode=${2:-run}
provider_file=$here/providers/$provider.sh
[[ -n $provider && -f $provider_file ]] || die "usage: e2e/run.sh local-node|kind [--check | --kustomization PASS DIR] (got '${provider}')"

export E2E_REPO=$repo TOOLS_BIN=${TOOLS_BIN:-$repo/bin/tools}
export E2E_OUT=${E2E_OUT:-$repo/target/e2e/$provider}
export E2E_LOGS=$E2E_OUT/logs E2E_IMAGES=$E2E_OUT/images E2E_PROVIDER_FILE=$provider_file
E2E_TAINT_KEY=$(sed -n 's/^TAINT_KEY=//p' "$repo/kustomize/base/config.env")
export E2E_TAINT_KEY
passes=${E2E_PASSES:-kubelet file condition}

# shellcheck source=lib.bash
source "$here/lib.bash"
# shellcheck source=providers/local-node.sh
source "$provider_file"

# kustomization PASS DIR: what a pass installs, as a user would write it.
kustomization() {
	local components=()
	case $1 in
	kubelet) ;;
	file) components+=(kustomize/components/file-source) ;;
	condition) components+=(kustomize/components/node-condition) ;;
	*) die "unknown pass $1 (kubelet, file, condition)" ;;
	esac
	components+=(e2e/kustomize/image)
	[[ ! -d $here/kustomize/$provider ]] || components+=("e2e/kustomize/$provider")
	bash "$here/../scaffolding/kustomization.sh" "$2" kustomize/overlays/generic "${components[@]}"
}

case $mode in
run) ;;
--check)
	provider_preflight
	exit 0
	;;
--kustomization)
	kustomization "${3:?usage: e2e/run.sh PROVIDER --kustomization PASS DIR}" "${4:?usage: e2e/run.sh PROVIDER --kustomization PASS DIR}"
	exit 0
	;;
*) die "unknown option $mode (--check, --kustomization PASS DIR)" ;;
esac
command -v bats >/dev/null || die "bats is missing (apt-get install bats, or npm install -g bats)"
command -v jq >/dev/null || die "jq is missing (apt-get install jq)"
provider_preflight
provider_check
rm -rf "$E2E_OUT"
mkdir -p "$E2E_LOGS" "$E2E_IMAGES"
E2E_OUT=$(cd "$E2E_OUT" && pwd)
export KUBECONFIG E2E_NODE

# phase NAME COMMAND...: runs COMMAND and records its wall time in phases.tsv.
phase() {
	local name=$1 start=$SECONDS
	shift
	log "phase: $name"
	"$@"
	printf '%s\t%s\n' "$name" "$((SECONDS - start))" >>"$E2E_OUT/phases.tsv"
	log "phase: $name took $((SECONDS - start)) s"
}

dump_logs() {
	echo "=== e2e failed on $provider: state and logs ==="
	kctl get nodes -o wide 2>&1 || true
	kctl get node "$E2E_NODE" -o jsonpath='{.spec.taints}{"\n"}' 2>&1 || true
	kctl get csr 2>&1 || true
	kctl get pods -A -o wide 2>&1 || true
	kctl -n kube-system describe pods -l app.kubernetes.io/name=kubelet-server-cert-untaint 2>&1 | tail -n 40 || true
	echo "--- agent logs ---"
	kctl -n kube-system logs -l app.kubernetes.io/name=kubelet-server-cert-untaint --tail=100 --prefix 2>&1 || true
	echo "--- agent pod logs on the node (readable even when the kubelet's TLS is not) ---"
	node_sh "tail -n 60 $POD_LOGS_DIR/kube-system_kubelet-server-cert-untaint-*/agent/*.log 2>/dev/null" || true
	provider_logs
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if ((rc != 0)); then dump_logs >&2 || true; fi
	phase "cluster down" provider_down || rc=1
	local left
	left=$(provider_leftovers)
	if [[ -n $left ]]; then
		log "error: the run left these behind:"
		printf '%s\n' "$left" >&2
		rc=1
	fi
	log "phases (s): $(tr '\t\n' '= ' <"$E2E_OUT/phases.tsv")"
	[[ ! -f $E2E_OUT/latency.txt ]] || log "cert→untaint: $(tr '\n' ';' <"$E2E_OUT/latency.txt")"
	exit "$rc"
}

run_pass() {
	local pass=$1 report=$E2E_OUT/$1
	shift
	export E2E_PASS=$pass E2E_DEPLOY=$E2E_OUT/deploy-$pass
	kustomization "$pass" "$E2E_DEPLOY"
	local files=()
	for f in "$@"; do files+=("$here/scenarios/$f"); done
	mkdir -p "$report"
	# TAP on the console, a JUnit report (a test case per @test, its output on failure) per pass.
	bats --tap --report-formatter junit --output "$report" "${files[@]}"
	# bats finishes its report in a process of its own, which may still be writing when bats returns.
	eventually 10 grep -q '</testsuites>' "$report/report.xml" ||
		die "pass $pass: bats left no complete JUnit report in $report/report.xml"
	# A scenario that did not run proved nothing.
	if grep -q '<skipped' "$report/report.xml"; then
		die "pass $pass skipped a scenario (see $report/report.xml): every scenario must run"
	fi
}

trap cleanup EXIT
trap 'exit 130' INT TERM
phase "images" provider_build_images
phase "cluster up" provider_up
first=1
for pass in $passes; do
	case $pass in
	kubelet) scenarios=(01-pending-csr.bats 02-approve-csr.bats 03-readded-taint.bats 04-restart-and-delete.bats) ;;
	file) scenarios=(01-pending-csr.bats 02-approve-csr.bats) ;;
	condition) scenarios=(01-pending-csr.bats 05-node-condition.bats) ;;
	*) die "unknown pass $pass (kubelet, file, condition)" ;;
	esac
	((first)) || phase "node reset" provider_reset_node
	first=0
	phase "scenarios ($pass)" run_pass "$pass" "${scenarios[@]}"
	# Scenario 4 uninstalls the full pass itself.
	if [[ $pass != kubelet ]]; then kctl delete -k "$E2E_DEPLOY" --wait=true >/dev/null; fi
done
