# shellcheck shell=bash disable=SC2034 # its variables are read by e2e/run.sh and the scenarios
# Cluster provider `kind`, sourced by e2e/run.sh, for machines with Docker (`make e2e`): a control
# plane and one worker from e2e/providers/kind-config.yaml. The worker registers with the startup
# taint and its kubelet-serving CSR stays pending until a scenario approves it. The agent's image is
# built with the user-facing Dockerfile and loaded with `kind load`.
#
# kind itself is pinned and built from its Go module into $TOOLS_BIN when missing; KIND_NODE_IMAGE
# picks another Kubernetes version than that kind release's default node image.

KIND_VERSION=${KIND_VERSION:-v0.33.0}
KIND_CLUSTER=kscu-e2e
KIND=$TOOLS_BIN/kind
E2E_NODE=$KIND_CLUSTER-worker
KUBECONFIG=$E2E_OUT/kind.kubeconfig
POD_LOGS_DIR=/var/log/pods
AGENT_IMAGE=localhost/kubelet-server-cert-untaint:e2e

# What this machine must have before anything is built.
provider_preflight() {
	if ! docker info >/dev/null 2>&1; then
		die "kind needs a running Docker engine (docker info failed); on a machine without one use make e2e-node"
	fi
	grep -q "key: $E2E_TAINT_KEY\$" "$E2E_REPO/e2e/providers/kind-config.yaml" ||
		die "e2e/providers/kind-config.yaml must register the worker with TAINT_KEY $E2E_TAINT_KEY"
}

# The tools of make tools, and kind.
provider_check() {
	[[ -x $TOOLS_BIN/kubectl ]] || die "$TOOLS_BIN/kubectl is missing: run make tools"
	if [[ ! -x $KIND ]]; then
		command -v go >/dev/null || die "kind is missing and go is not installed to build it"
		log "building kind $KIND_VERSION into $TOOLS_BIN"
		GOBIN=$TOOLS_BIN go install "sigs.k8s.io/kind@$KIND_VERSION"
	fi
}

provider_build_images() {
	docker build -t "$AGENT_IMAGE" --build-arg "GIT_COMMIT=$(git -C "$E2E_REPO" rev-parse --short HEAD)" "$E2E_REPO"
}

provider_up() {
	provider_down
	local image_args=()
	[[ -z ${KIND_NODE_IMAGE:-} ]] || image_args=(--image "$KIND_NODE_IMAGE")
	"$KIND" create cluster --name "$KIND_CLUSTER" --config "$E2E_REPO/e2e/providers/kind-config.yaml" \
		--kubeconfig "$KUBECONFIG" --wait 180s "${image_args[@]}"
	"$KIND" load docker-image "$AGENT_IMAGE" --name "$KIND_CLUSTER" --nodes "$E2E_NODE"
}

# The worker as a fresh node again: its kubelet restarts without a serving certificate and
# registers anew, with the startup taint (kubeadm's flags file keeps --register-with-taints).
provider_reset_node() {
	node_sh 'systemctl stop kubelet && crictl rmp --all --force >/dev/null 2>&1; rm -f /var/lib/kubelet/pki/kubelet-server-*'
	kctl delete node "$E2E_NODE" --wait=true >/dev/null
	kctl delete csr --all >/dev/null
	node_sh 'systemctl start kubelet'
	eventually 120 kctl get node "$E2E_NODE"
}

node_sh() { docker exec "$E2E_NODE" bash -c "$1"; }

provider_down() {
	[[ ! -x $KIND ]] || "$KIND" delete cluster --name "$KIND_CLUSTER" >/dev/null 2>&1 || true
}

provider_leftovers() {
	docker ps -a --filter "label=io.x-k8s.kind.cluster=$KIND_CLUSTER" --format 'container: {{.Names}}' 2>/dev/null || true
}

provider_logs() {
	echo "--- kind: kubelet on $E2E_NODE (last 80 lines) ---"
	node_sh 'journalctl -u kubelet --no-pager | tail -n 80' 2>&1 || true
}
