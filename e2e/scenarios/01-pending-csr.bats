#!/usr/bin/env bats
# Scenario 1: the node joins with the startup taint while its serving CSR is pending. The agent runs
# but must not remove the taint, however long the certificate takes; it is not Ready until it has
# reported the timeout, so that a stuck node does not stall the DaemonSet's rollouts for ever.

setup() {
	load helpers
}

@test "the node registers with the startup taint and a pending kubelet-serving CSR" {
	has_our_taint
	eventually 60 has_pending_csr
	[[ -z $(serving_csrs approved) ]]
}

@test "without a serving certificate the apiserver cannot reach the kubelet (the failure users see)" {
	run kctl get --raw "/api/v1/nodes/$E2E_NODE/proxy/healthz"
	echo "$output"
	((status != 0))
	[[ $output == *"tls"* || $output == *"x509"* || $output == *"dialing backend"* ]]
}

@test "the agent's pod starts on the node: Running, not Ready" {
	kctl apply -k "$E2E_DEPLOY"
	eventually 120 agent_running
	refute agent_ready
}

@test "30 s later the taint is still there, the agent not Ready, the CSR still pending" {
	sleep 30
	has_our_taint
	local pod
	pod=$(agent_pod)
	pod_running "$pod"
	refute pod_ready "$pod"
	[[ $(pod_field "$pod" '{.status.containerStatuses[0].restartCount}') == 0 ]]
	has_pending_csr
	# The controller-manager counts the node unavailable: what stalls a rollout at maxUnavailable.
	[[ $(ds_unavailable) == 1 ]]
}

@test "after cert-check-duration the timeout is reported and the pod turns Ready, the taint stays" {
	eventually 90 has_event ServingCertificateTimeout
	eventually 30 agent_ready
	has_our_taint
	has_pending_csr
	eventually 30 ds_all_available
	kctl -n "$NS" rollout status daemonset/kubelet-server-cert-untaint --timeout=30s
}
