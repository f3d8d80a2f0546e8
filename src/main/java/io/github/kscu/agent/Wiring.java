package io.github.kscu.agent;

import io.github.kscu.cert.CertSource;
import io.github.kscu.cert.CertificateValidator;
import io.github.kscu.cert.FileCertSource;
import io.github.kscu.cert.KubeletCertSource;
import io.github.kscu.config.InvalidSettingException;
import io.github.kscu.config.ListenAddress;
import io.github.kscu.config.Setting;
import io.github.kscu.config.Settings;
import io.github.kscu.kube.HttpNodeApi;
import io.github.kscu.kube.KubeClients;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.report.Metrics;
import io.kubernetes.client.openapi.ApiClient;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Clock;

/**
 * The one place where an {@link Agent} is put together, for {@code Main}, the integration tests and the
 * benchmark alike. Anything wrong with what the settings point at (a kubeconfig or CA bundle that does
 * not load) surfaces here as an {@link InvalidSettingException}: one line, exit code 2.
 */
public final class Wiring {
    private Wiring() {
    }

    /** An agent with its own API client, from {@code --kubeconfig} or the pod's service account. */
    public static Agent agent(Settings settings) throws InvalidSettingException {
        ApiClient client;
        try {
            client = KubeClients.create(settings.kubeconfig());
        } catch (IOException | RuntimeException e) {
            throw InvalidSettingException.because(Setting.KUBECONFIG, e.getMessage());
        }
        return agent(settings, client);
    }

    /** An agent on a shared API client (many agents in one JVM share one connection pool). */
    public static Agent agent(Settings settings, ApiClient client) throws InvalidSettingException {
        Timing timing = Timing.real();
        Metrics metrics = new Metrics(timing.clock()::instant);
        return agent(settings, new HttpNodeApi(client, metrics::request, settings.eventNamespace()),
                certSource(settings, timing.clock()), metrics, timing);
    }

    /** Every collaborator given, for tests. {@code source} is ignored with {@code --skip-cert-check}. */
    static Agent agent(Settings s, NodeApi api, CertSource source, Metrics metrics, Timing timing) {
        NodeContext ctx = new NodeContext(s, api, metrics, timing);
        CertWatch watch = s.skipCertCheck() || source == null ? null : new CertWatch(ctx, source, s);
        CertWait wait = new CertWait(ctx, watch, s.onCertTimeout());
        TaintRemover remover = new TaintRemover(ctx, wait, s.taintWatcherDuration());
        ConditionReporter condition = watch == null || !s.conditionReport().reports() ? null
                : new ConditionReporter(ctx, watch, s.startupJitter());
        return new Agent(s, ctx, new Agent.Watches(new NodeTracker(ctx, NodeTracker.FIRST_EVENT_GRACE), watch, condition),
                new Agent.Steps(new AdmissionCheck(ctx, s.admissionPolicyCheck(), s.conditionReport().reports()), wait,
                        remover, new Settler(ctx, remover)));
    }

    /** The certificate source the settings name, or {@code null} with {@code --skip-cert-check}. */
    public static CertSource certSource(Settings settings, Clock clock) throws InvalidSettingException {
        if (settings.skipCertCheck()) {
            return null;
        }
        ListenAddress kubelet = settings.kubeletEndpoint();
        // One host for both: the kubelet source dials it, and the certificate's SANs must cover it.
        CertificateValidator validator = new CertificateValidator(settings.nodeName(),
                kubelet == null ? null : kubelet.host(), settings.requireCertIdentity());
        return switch (settings.certSource()) {
            case FILE -> new FileCertSource(settings.certFile(), validator, clock);
            case KUBELET -> {
                try {
                    yield new KubeletCertSource(kubelet.host(), kubelet.port(), settings.kubeletCaFile(), validator,
                            clock);
                } catch (IOException | GeneralSecurityException e) {
                    throw InvalidSettingException.of(Setting.KUBELET_CA_FILE, settings.kubeletCaFile().toString(),
                            "not a PEM CA bundle (" + e.getMessage() + ")");
                }
            }
        };
    }
}
