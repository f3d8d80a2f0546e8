#!/usr/bin/env bats
# Scenario 5 (the `condition` pass, after scenario 1): components/node-condition on the real kubelet and
# serving-CSR flow. While the CSR is pending the agent's condition says False, with the reason the
# kubelet's failed handshake gives; once the CSR is approved the taint goes and the condition turns True,
# a new transition, and the kubelet's own conditions are as the kubelet wrote them.

setup() {
	load helpers
}

@test "while the CSR is pending the condition is False: the kubelet's handshake fails" {
	eventually 30 condition_is False
	[[ $(condition_field reason) == HandshakeFailed ]]
	[[ $(condition_field message) == "no valid serving certificate: kubelet TLS handshake failed"* ]]
	has_our_taint
}

@test "approving the CSR: the taint goes and the condition turns True, a new transition" {
	local false_since csrs
	false_since=$(condition_field lastTransitionTime)
	mapfile -t csrs < <(serving_csrs pending)
	((${#csrs[@]} > 0))
	kctl certificate approve "${csrs[@]}"
	eventually 30 no_our_taint
	eventually 30 condition_is True
	[[ $(condition_field reason) == ServingCertificateReady ]]
	[[ $(condition_field lastTransitionTime) > $false_since ]]
	# As an operator sees it (and the closing note quotes it).
	node_json | jq --arg t "$CONDITION_TYPE" '.status.conditions[] | select(.type == $t)' |
		tee "$E2E_OUT/condition.json"
}

@test "the kubelet's own conditions are the kubelet's: Ready is True and written by the kubelet" {
	[[ $(node_json | jq -r '.status.conditions[] | select(.type == "Ready") | .status') == True ]]
	# One writer of our condition: the agent's field manager, through nodes/status.
	kctl get node "$E2E_NODE" -o json --show-managed-fields | jq -e --arg t "$CONDITION_TYPE" '[.metadata.managedFields[]
		| select(.manager == "kubelet-server-cert-untaint" and .subresource == "status")
		| .fieldsV1["f:status"]["f:conditions"] | keys[] | select(contains($t))] | length == 1' >/dev/null
}
