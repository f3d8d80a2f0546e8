package io.github.kscu.kube;

import java.time.Instant;

/**
 * One entry of a Node's {@code status.conditions}, as the agent reads and writes its own.
 *
 * @param status             {@code True}, {@code False} or {@code Unknown}
 * @param lastHeartbeatTime  when the reporter last confirmed it (may be null when another writer left none)
 * @param lastTransitionTime when {@code status} last changed (may be null likewise)
 */
public record NodeCondition(String type, String status, String reason, String message, Instant lastHeartbeatTime,
        Instant lastTransitionTime) {

    /**
     * The condition the agent owns. Domain-qualified because unqualified types are Kubernetes' own
     * ({@code Ready}, {@code MemoryPressure}, ...) and a bare {@code ServingCertificateReady} could clash
     * with another reporter's; our domain is the one the agent's labels and field manager use. It names
     * the kubelet because the node has other serving certificates (a CNI's, a CSI driver's).
     */
    public static final String CERT_TYPE = "kubelet-server-cert-untaint.io/KubeletServingCertificateReady";
}
