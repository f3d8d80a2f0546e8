package io.github.kscu.report;

/**
 * Outcome reasons. One constant is the Event reason, the {@code reason} label of
 * {@code kscu_outcomes_total} and the {@code reason=} field of the log line, so an operator can go from
 * an alert to the Event to the log by one word.
 */
public enum Reason {
    SERVING_CERTIFICATE_READY("ServingCertificateReady", "Normal", "WaitForServingCertificate"),
    STARTUP_TAINT_REMOVED("StartupTaintRemoved", "Normal", "RemoveStartupTaint"),
    STARTUP_TAINT_READDED("StartupTaintReadded", "Normal", "RemoveStartupTaint"),
    SERVING_CERTIFICATE_TIMEOUT("ServingCertificateTimeout", "Warning", "WaitForServingCertificate"),
    /** A certificate that was valid no longer is (expired, replaced by a bad one): nothing is removed now. */
    SERVING_CERTIFICATE_INVALID("ServingCertificateInvalid", "Warning", "WaitForServingCertificate"),
    /** The kubelet source cannot reach or trust the kubelet (refused, timeout, a chain the CA bundle rejects). */
    KUBELET_UNREACHABLE("KubeletUnreachable", "Warning", "WaitForServingCertificate"),
    TAINT_REMOVAL_SLOW("TaintRemovalSlow", "Warning", "RemoveStartupTaint"),
    /** The taint was back in our own PATCH's answer: a webhook, a policy or another writer re-adds it. */
    STARTUP_TAINT_CONTESTED("StartupTaintContested", "Warning", "RemoveStartupTaint"),
    /**
     * The start-up dry run of a change the admission policy must refuse was allowed: the agent's token can
     * change more than its own node's taint (the policy is missing, unbound or not matching).
     */
    ADMISSION_POLICY_NOT_ENFORCED("AdmissionPolicyNotEnforced", "Warning", "CheckAdmissionPolicy"),
    /**
     * The apiserver refuses the agent's write of its Node condition (403: no nodes/status patch in RBAC, or
     * the condition's admission policy; 422: an invalid condition). Retried with backoff; in reporter-only
     * mode the taint stays until the write succeeds.
     */
    NODE_CONDITION_REFUSED("NodeConditionRefused", "Warning", "ReportNodeCondition");

    private final String value;
    private final String eventType;
    private final String action;

    Reason(String value, String eventType, String action) {
        this.value = value;
        this.eventType = eventType;
        this.action = action;
    }

    /** The CamelCase reason, e.g. {@code StartupTaintRemoved}. */
    public String value() {
        return value;
    }

    /** {@code Normal} or {@code Warning}. */
    public String eventType() {
        return eventType;
    }

    /** The Event's {@code action}: what the agent was doing. */
    public String action() {
        return action;
    }

    @Override
    public String toString() {
        return value;
    }
}
