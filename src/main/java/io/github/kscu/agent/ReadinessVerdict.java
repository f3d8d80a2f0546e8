package io.github.kscu.agent;

import io.github.kscu.config.Settings;
import io.github.kscu.health.HealthServer.Readiness;
import io.github.kscu.kube.NodeCondition;

/**
 * The agent's readiness as a pure function of what it knows; {@link Agent} freezes it when the settle
 * window ends, since nothing is watched after that, so nothing could change it.
 */
final class ReadinessVerdict {
    private ReadinessVerdict() {
    }

    /**
     * What {@code /readyz} says: ready once this node is done (a usable certificate, no configured taint
     * left), or once the agent has reported that it cannot be (ServingCertificateTimeout). Why the second:
     * a pod that is never Ready counts as unavailable for ever, which stalls a DaemonSet rollout at
     * {@code maxUnavailable} and keeps GitOps health checks "progressing"; the stuck node is reported by
     * its Warning Event and the state metric, and its taint still keeps workloads off it.
     */
    static Readiness of(Settings settings, CertWait cert, NodeView view) {
        if (!cert.certUsable()) {
            if (cert.timedOut()) {
                return new Readiness(true, "no valid serving certificate after " + settings.certCheckDuration()
                        .toSeconds() + "s, reported (ServingCertificateTimeout); " + (cert.failsOpen()
                                ? "taint removed anyway (on-cert-timeout=remove-taint)"
                                : "the taint stays until one is valid") + ": " + cert.describeProblem());
            }
            return new Readiness(false, "serving certificate not valid: " + cert.describeProblem());
        }
        if (view == null) {
            return new Readiness(false, "node " + settings.nodeName() + " not read yet");
        }
        if (!settings.conditionReport().removesTaints()) {
            NodeCondition c = view.node().certCondition();
            return c != null && "True".equals(c.status())
                    ? new Readiness(true, "serving certificate valid, reported in the node condition")
                    : new Readiness(false, "serving certificate valid, node condition not written yet");
        }
        if (!view.plan().clean()) {
            return new Readiness(false, "startup taint still on node " + settings.nodeName());
        }
        return new Readiness(true, "serving certificate valid, startup taint removed");
    }
}
