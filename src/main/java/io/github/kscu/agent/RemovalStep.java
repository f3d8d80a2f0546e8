package io.github.kscu.agent;

import io.github.kscu.taint.Taints.Plan;

/**
 * What {@link TaintRemover} does next, as pure functions of what it knows: the node's plan, the
 * certificate's verdict and how long the removal has taken. The remover's loop only reads, writes and
 * waits around them, the way Kubernetes' {@code RemoveTaintOffNode} is a read, a decision and a write.
 */
final class RemovalStep {
    enum Action {
        /** The removal has taken longer than {@code taint-watcher-duration}: say so once, then go on. */
        REPORT_SLOW,
        /** A failure said the view is out of date: GET the node before deciding. */
        GET,
        /** The node has not been read yet: wait for the tracker. */
        WAIT_FOR_NODE,
        /** None of the configured taints is on the node. */
        DONE,
        /** The certificate does not permit removal: wait for it. */
        WAIT_FOR_CERT,
        /** Karpenter has not registered the node ({@link io.github.kscu.taint.Taints#KARPENTER_UNREGISTERED}). */
        WAIT_FOR_GATE,
        PATCH,
        /** The taint was back in the answer to our own PATCH: someone re-adds it; back off before the next. */
        BACK_OFF_CONTESTED
    }

    private RemovalStep() {
    }

    /**
     * Before a PATCH. The order matters: a slow removal is reported even while the API fails; a node
     * without the taint is done whatever the certificate says; the certificate comes before Karpenter's
     * gate, so the state shows what the node waits for first.
     *
     * @param plan         the latest view's plan, {@code null} before the node was read
     * @param stale        a failure said the view is out of date
     * @param certPermits  {@link CertWait#permitsRemoval()}
     * @param slowDue      {@code taint-watcher-duration} has passed and that was not reported yet
     */
    static Action next(Plan plan, boolean stale, boolean certPermits, boolean slowDue) {
        if (slowDue) {
            return Action.REPORT_SLOW;
        }
        if (stale) {
            return Action.GET;
        }
        if (plan == null) {
            return Action.WAIT_FOR_NODE;
        }
        if (plan.clean()) {
            return Action.DONE;
        }
        if (!certPermits) {
            return Action.WAIT_FOR_CERT;
        }
        return plan.gated() ? Action.WAIT_FOR_GATE : Action.PATCH;
    }

    /** After our PATCH: its answer is the stored object, so it is the read-back. */
    static Action afterPatch(Plan answer) {
        return answer.clean() ? Action.DONE : Action.BACK_OFF_CONTESTED;
    }
}
