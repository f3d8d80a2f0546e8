# shellcheck shell=bash source-path=SCRIPTDIR disable=SC2034 # its variables are read by the scenarios
# Shared by every scenario. e2e/run.sh exports the environment below and sources the provider, whose
# node_sh runs a command on the node under test (the host for local-node, `docker exec` for kind).
: "${KUBECONFIG:?run the scenarios through e2e/run.sh}" "${TOOLS_BIN:?}" "${E2E_PROVIDER_FILE:?}" "${E2E_NODE:?}"
: "${E2E_REPO:?}" "${E2E_TAINT_KEY:?}" "${E2E_DEPLOY:?}" "${E2E_OUT:?}" "${E2E_PASS:?}"

die() {
	echo "$*" >&2
	return 1
}
# shellcheck source=../lib.bash
source "$E2E_REPO/e2e/lib.bash"
# shellcheck source=/dev/null
source "$E2E_PROVIDER_FILE"

NS=kube-system
SELECTOR=app.kubernetes.io/name=kubelet-server-cert-untaint
SERVING_PEM=/var/lib/kubelet/pki/kubelet-server-current.pem

node_json() { kctl get node "$E2E_NODE" -o json; }

# The agent's Node condition (components/node-condition) and one of its fields; empty when absent.
CONDITION_TYPE=kubelet-server-cert-untaint.io/KubeletServingCertificateReady
condition_field() {
	node_json | jq -r --arg t "$CONDITION_TYPE" --arg f "$1" \
		'[.status.conditions // [] | .[] | select(.type == $t) | .[$f]] | first // empty'
}
condition_is() { [[ $(condition_field status) == "$1" ]]; }

has_our_taint() {
	node_json | jq -e --arg k "$E2E_TAINT_KEY" '[.spec.taints // [] | .[] | select(.key == $k)] | length > 0' >/dev/null
}

no_our_taint() { ! has_our_taint; }

# Taints other than ours and those the node lifecycle controller manages, as key=value:effect lines.
foreign_taints() {
	node_json | jq -r --arg k "$E2E_TAINT_KEY" '.spec.taints // [] | .[]
		| select(.key != $k and (.key | startswith("node.kubernetes.io/") | not))
		| "\(.key)=\(.value // ""):\(.effect)"'
}

# The agent's pod on the node (not one being deleted); empty if none.
agent_pod() {
	kctl -n "$NS" get pods -l "$SELECTOR" --field-selector "spec.nodeName=$E2E_NODE" -o json |
		jq -r '[.items[] | select(.metadata.deletionTimestamp == null) | .metadata.name] | first // empty'
}

pod_field() { kctl -n "$NS" get pod "$1" -o jsonpath="$2"; }
pod_running() { [[ $(pod_field "$1" '{.status.phase}') == Running ]]; }
pod_ready() { [[ $(pod_field "$1" '{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
# Every kind of object the install creates, with our labels, anywhere: empty once uninstalled.
installed_objects() {
	kctl get all,serviceaccounts,configmaps,roles,rolebindings,clusterroles,clusterrolebindings -A -l "$SELECTOR" -o name
}
nothing_installed() {
	local left
	left=$(installed_objects) || return 1
	[[ -z $left ]] || {
		echo "$left"
		return 1
	}
}

agent_running() {
	local pod
	pod=$(agent_pod) && [[ -n $pod ]] && pod_running "$pod"
}
agent_ready() {
	local pod
	pod=$(agent_pod) && [[ -n $pod ]] && pod_ready "$pod"
}

# A field of the DaemonSet's status, as the real controller-manager computes it ("" when unset).
ds_status() { kctl -n "$NS" get daemonset kubelet-server-cert-untaint -o jsonpath="{.status.$1}"; }
# What the DaemonSet controller counts against maxUnavailable: nodes whose pod is not available.
ds_unavailable() { local n; n=$(ds_status numberUnavailable) && echo "${n:-0}"; }
ds_all_available() { [[ $(ds_unavailable) == 0 ]]; }

agent_log_has() {
	local log
	log=$(kctl -n "$NS" logs "$(agent_pod)") && [[ $log == *"$1"* ]]
}

# The kubelet-serving CSRs of the node under test, by state: pending or approved.
serving_csrs() {
	kctl get csr -o json | jq -r --arg u "system:node:$E2E_NODE" --arg state "$1" '.items[]
		| select(.spec.signerName == "kubernetes.io/kubelet-serving" and .spec.username == $u)
		| select(
			if $state == "pending" then (.status.conditions // []) == []
			else ([.status.conditions // [] | .[] | select(.type == "Approved")] | length > 0) end)
		| .metadata.name'
}
has_pending_csr() { [[ -n $(serving_csrs pending) ]]; }

# The agent's Events with this reason about the node under test, as a JSON array. By uid, not name:
# the second pass re-registers the node, and the first pass's Events about it are still there.
node_events() {
	local uid
	uid=$(kctl get node "$E2E_NODE" -o jsonpath='{.metadata.uid}')
	kctl get events.events.k8s.io -A -o json | jq -c --arg uid "$uid" --arg r "$1" '[.items[]
		| select(.regarding.kind == "Node" and .regarding.uid == $uid and .reason == $r)]'
}

# Seconds since the epoch (fractional) at which the agent recorded the latest Event with this reason;
# empty if none. eventTime has microseconds and comes from the node's clock.
event_time() {
	local t
	t=$(node_events "$1" | jq -r '[.[].eventTime] | sort | last // empty')
	[[ -z $t ]] || date -d "$t" +%s.%N
}

has_event() { [[ -n $(event_time "$1") ]]; }

event_count() { node_events "$1" | jq '[.[].deprecatedCount // 1] | add // 0'; }

# refute COMMAND...: fails when COMMAND succeeds. (A bare `! command` never fails a bats test: errexit
# ignores negated commands.)
refute() {
	if "$@"; then
		echo "expected to fail: $*" >&2
		return 1
	fi
}
