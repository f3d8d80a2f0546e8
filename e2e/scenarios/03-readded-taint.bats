#!/usr/bin/env bats
# Scenario 3: something (Karpenter re-syncing startup taints, an operator) puts the taint back within
# the settle window: the agent removes it again, and only it. Other taints are never touched.

setup() {
	load helpers
}

teardown_file() {
	load helpers
	kctl taint node "$E2E_NODE" example.com/e2e-foreign- example.com/e2e-other- >/dev/null 2>&1 || true
}

@test "a re-added startup taint is removed again; other taints stay, in order" {
	kctl taint node "$E2E_NODE" example.com/e2e-foreign=keep:NoSchedule
	kctl taint node "$E2E_NODE" example.com/e2e-other=keep:PreferNoSchedule
	local before
	before=$(foreign_taints)
	[[ $before == *e2e-foreign* && $before == *e2e-other* ]]

	kctl taint node "$E2E_NODE" "$E2E_TAINT_KEY:NoSchedule"
	eventually 10 no_our_taint
	[[ $(foreign_taints) == "$before" ]]
	eventually 10 has_event StartupTaintReadded
}
