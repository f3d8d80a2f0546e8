package io.github.kscu.report;

import java.util.Locale;

/** Where the agent is in its life; exported as {@code kscu_state{state="..."} 1}. */
public enum State {
    STARTING,
    /** ADMISSION_POLICY_CHECK=require and the policy is not in force: nothing is removed until it is. */
    WAITING_FOR_ADMISSION_POLICY,
    WAITING_FOR_CERT,
    WAITING_FOR_KARPENTER,
    REMOVING_TAINT,
    /** The taint is gone; the node is watched so a re-added taint is removed again. */
    SETTLING,
    /**
     * NODE_CONDITION=reporter-only, once the certificate is valid: the condition reports it and the
     * taint is the Node Readiness Controller's to remove.
     */
    REPORTING,
    /** Bootstrap mode after the settle window: nothing left to do. */
    DONE;

    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
