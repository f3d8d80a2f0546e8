#!/usr/bin/env bats
# Scenario 1: the node joins with the startup taint while its serving CSR is pending. The agent runs
# but must neither remove the taint nor report Ready, however long the certificate takes.

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
}
