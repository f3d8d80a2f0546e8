package io.github.kscu.agent;

import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.taint.Taints.Plan;

/**
 * One state of the node and the plan for it, computed once when the snapshot arrives (like nidhogg's
 * {@code calculateTaints} result) and handed to whoever needs it: removal, settle, readiness.
 */
record NodeView(NodeSnapshot node, Plan plan) {
}
