package io.github.kscu.config;

import io.github.kscu.taint.TaintSelector;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The agent's effective configuration: parsed once, validated completely, immutable.
 *
 * @param kubeletAddress  {@code host:port}; {@code null} when it could not be derived and is not needed
 * @param kubeletCaFile   CA bundle for the kubelet source; {@code null} means "none" (no chain check)
 * @param kubeconfig      {@code null} means in-cluster configuration
 * @param healthAddress   {@code null} means the health server is off
 * @param eventNamespace  where Events are posted: the pod's namespace (downward API {@code POD_NAMESPACE}),
 *                        {@code default} outside a pod; not a flag, like {@code HOST_IP}
 */
public record Settings(
        String nodeName,
        List<TaintSelector> taints,
        CertSourceKind certSource,
        Path certFile,
        String kubeletAddress,
        Path kubeletCaFile,
        Duration certCheckInterval,
        Duration certCheckDuration,
        OnCertTimeout onCertTimeout,
        Duration taintWatcherDuration,
        Duration startupJitter,
        Duration settleDuration,
        Mode mode,
        boolean skipCertCheck,
        boolean requireCertIdentity,
        boolean allowReservedTaintKey,
        ConditionReport conditionReport,
        AdmissionPolicyCheck admissionPolicyCheck,
        Path kubeconfig,
        ListenAddress healthAddress,
        LogFormat logFormat,
        LogLevel logLevel,
        String eventNamespace) {

    /** Where the certificate is looked at: named apart from {@link io.github.kscu.cert.CertSource}, the thing that looks. */
    public enum CertSourceKind { FILE, KUBELET }

    public enum OnCertTimeout { KEEP_WAITING, REMOVE_TAINT }

    public enum Mode { BOOTSTRAP, CONTINUOUS }

    /**
     * Whether the agent reports its certificate verdict as a Node condition: {@code OFF}; {@code ON}, as
     * well as removing the taint; {@code REPORTER_ONLY}, leaving the taint to the Node Readiness
     * Controller, which removes it when the condition is True (so the two never both write it).
     */
    public enum ConditionReport {
        OFF, ON, REPORTER_ONLY;

        public boolean reports() {
            return this != OFF;
        }

        public boolean removesTaints() {
            return this != REPORTER_ONLY;
        }
    }

    public enum LogFormat { TEXT, JSON }

    /** What the start-up dry run of a forbidden change leads to when the apiserver allows it. */
    public enum AdmissionPolicyCheck { WARN, REQUIRE, OFF }

    public enum LogLevel {
        TRACE, DEBUG, INFO, WARN, ERROR;

        /** The highest klog verbosity taken; klog itself has no upper bound, but nothing logs beyond 10. */
        public static final int MAX_VERBOSITY = 10;

        /**
         * klog's verbosity (the Go sample's {@code -v} and its chart's {@code logLevel}): 0-2 is the
         * normal info level, 3-4 adds debug detail, 5 and more trace. Empty for anything else.
         */
        public static Optional<LogLevel> forVerbosity(String raw) {
            String v = raw.strip();
            if (v.isEmpty() || v.length() > 2 || !v.chars().allMatch(Character::isDigit)) {
                return Optional.empty();
            }
            int n = Integer.parseInt(v);
            return n > MAX_VERBOSITY ? Optional.empty()
                    : Optional.of(n <= 2 ? INFO : n <= 4 ? DEBUG : TRACE);
        }
    }

    /** Below this a poll only burns CPU; the kubelet source probes at its own pace anyway. */
    public static final Duration MIN_CERT_CHECK_INTERVAL = Duration.ofMillis(100);

    public Settings {
        taints = List.copyOf(taints);
    }

    /**
     * Builds the settings from a map keyed by environment variable names ({@link Setting#env()}). The
     * command line is folded into the same map first, so flags win over the environment.
     */
    public static Settings fromMap(Map<String, String> values) throws InvalidSettingException {
        return SettingsParser.parse(values);
    }

    /**
     * The namespaces an Event about a Node may be posted in: the apiserver refuses (422, "does not match
     * event.namespace") an events.k8s.io Event about a cluster-scoped object in any other.
     */
    public static final Set<String> NODE_EVENT_NAMESPACES = Set.of("default", "kube-system");

    /** False when the agent runs in a namespace where the apiserver refuses Events about its Node. */
    public boolean postsNodeEvents() {
        return NODE_EVENT_NAMESPACES.contains(eventNamespace);
    }

    /**
     * The kubelet's endpoint, as the kubelet source dials it and as the apiserver reaches it (its host
     * without brackets: the certificate's SANs must cover it), or {@code null} when no address is known.
     */
    public ListenAddress kubeletEndpoint() {
        return kubeletAddress == null ? null : ListenAddress.parse(kubeletAddress);
    }

    /** The effective settings as {@code key=value} lines in table order, for {@code --print-config}. */
    public Map<String, String> describe() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put(Setting.NODE_NAME.flag(), nodeName);
        out.put(Setting.TAINT_KEY.flag(), taints.stream().map(TaintSelector::toString).collect(Collectors.joining(",")));
        out.put(Setting.CERT_SOURCE.flag(), lower(certSource));
        out.put(Setting.CERT_FILE.flag(), certFile.toString());
        out.put(Setting.KUBELET_ADDRESS.flag(), kubeletAddress == null ? "" : kubeletAddress);
        out.put(Setting.KUBELET_CA_FILE.flag(), kubeletCaFile == null ? "none" : kubeletCaFile.toString());
        out.put(Setting.CERT_CHECK_INTERVAL.flag(), Durations.format(certCheckInterval));
        out.put(Setting.CERT_CHECK_DURATION.flag(), Durations.format(certCheckDuration));
        out.put(Setting.ON_CERT_TIMEOUT.flag(), lower(onCertTimeout));
        out.put(Setting.TAINT_WATCHER_DURATION.flag(), Durations.format(taintWatcherDuration));
        out.put(Setting.STARTUP_JITTER.flag(), Durations.format(startupJitter));
        out.put(Setting.SETTLE_DURATION.flag(), Durations.format(settleDuration));
        out.put(Setting.MODE.flag(), lower(mode));
        out.put(Setting.SKIP_CERT_CHECK.flag(), Boolean.toString(skipCertCheck));
        out.put(Setting.REQUIRE_CERT_IDENTITY.flag(), Boolean.toString(requireCertIdentity));
        out.put(Setting.ALLOW_RESERVED_TAINT_KEY.flag(), Boolean.toString(allowReservedTaintKey));
        out.put(Setting.NODE_CONDITION.flag(), lower(conditionReport));
        out.put(Setting.ADMISSION_POLICY_CHECK.flag(), lower(admissionPolicyCheck));
        out.put(Setting.KUBECONFIG.flag(), kubeconfig == null ? "" : kubeconfig.toString());
        out.put(Setting.HEALTH_ADDR.flag(), healthAddress == null ? "off" : healthAddress.toString());
        out.put(Setting.LOG_FORMAT.flag(), lower(logFormat));
        out.put(Setting.LOG_LEVEL.flag(), lower(logLevel));
        return out;
    }

    /** How an enum value is spelled in flags and output: {@code KEEP_WAITING} is {@code keep-waiting}. */
    public static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
