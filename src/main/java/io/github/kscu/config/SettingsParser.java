package io.github.kscu.config;

import io.github.kscu.config.Settings.AdmissionPolicyCheck;
import io.github.kscu.config.Settings.CertSourceKind;
import io.github.kscu.config.Settings.ConditionReport;
import io.github.kscu.config.Settings.LogFormat;
import io.github.kscu.config.Settings.LogLevel;
import io.github.kscu.config.Settings.Mode;
import io.github.kscu.config.Settings.OnCertTimeout;
import io.github.kscu.taint.TaintSelector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Turns the raw values ({@link SettingsReader}) into {@link Settings}: each value checked on its own and
 * against the others, failing at the first problem with one actionable line.
 */
final class SettingsParser {
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern NODE_NAME =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    private SettingsParser() {
    }

    static Settings parse(Map<String, String> values) throws InvalidSettingException {
        SettingsReader r = new SettingsReader(values);
        String nodeName = r.required(Setting.NODE_NAME);
        if (nodeName.length() > 253 || !NODE_NAME.matcher(nodeName).matches()) {
            throw InvalidSettingException.of(Setting.NODE_NAME, nodeName, "not a lowercase DNS subdomain");
        }
        List<TaintSelector> taints = parseTaints(r.get(Setting.TAINT_KEY));
        boolean allowReserved = r.bool(Setting.ALLOW_RESERVED_TAINT_KEY);
        if (!allowReserved) {
            for (TaintSelector t : taints) {
                String domain = reservedDomain(t.key());
                if (domain != null) {
                    throw InvalidSettingException.of(Setting.TAINT_KEY, r.get(Setting.TAINT_KEY), "\"" + t.key()
                            + "\" is under " + domain + ", whose taints Kubernetes or Karpenter own"
                            + " (removing them would put pods on nodes that are not ready); choose a key of your own"
                            + " domain, or set " + Setting.ALLOW_RESERVED_TAINT_KEY.displayName() + "=true");
                }
            }
        }
        CertSourceKind certSource = r.choice(Setting.CERT_SOURCE, CertSourceKind.class);
        Path certFile = r.path(Setting.CERT_FILE);
        if (!certFile.isAbsolute()) {
            throw InvalidSettingException.of(Setting.CERT_FILE, r.get(Setting.CERT_FILE), "not an absolute path");
        }
        String kubeletAddress = kubeletAddress(r, certSource == CertSourceKind.KUBELET);
        Path kubeletCa = "none".equals(r.get(Setting.KUBELET_CA_FILE)) ? null : r.path(Setting.KUBELET_CA_FILE);
        if (certSource == CertSourceKind.KUBELET && kubeletCa != null && !Files.isReadable(kubeletCa)) {
            throw InvalidSettingException.of(Setting.KUBELET_CA_FILE, kubeletCa.toString(), "file is not readable");
        }
        Duration interval = r.duration(Setting.CERT_CHECK_INTERVAL);
        if (interval.compareTo(Settings.MIN_CERT_CHECK_INTERVAL) < 0) {
            throw InvalidSettingException.of(Setting.CERT_CHECK_INTERVAL, r.get(Setting.CERT_CHECK_INTERVAL),
                    "below the floor of " + Durations.format(Settings.MIN_CERT_CHECK_INTERVAL) + " (a shorter poll only burns CPU:"
                            + " file changes are seen at once through inotify)");
        }
        Path kubeconfig = null;
        String kc = r.get(Setting.KUBECONFIG);
        if (!kc.isBlank()) {
            if (kc.indexOf(java.io.File.pathSeparatorChar) >= 0) {
                throw InvalidSettingException.of(Setting.KUBECONFIG, kc, "a list of files is not supported");
            }
            kubeconfig = r.path(Setting.KUBECONFIG);
            if (!Files.isRegularFile(kubeconfig) || !Files.isReadable(kubeconfig)) {
                throw InvalidSettingException.of(Setting.KUBECONFIG, kc, "not a readable file");
            }
        }
        Duration certCheckDuration = r.duration(Setting.CERT_CHECK_DURATION);
        OnCertTimeout onCertTimeout = r.choice(Setting.ON_CERT_TIMEOUT, OnCertTimeout.class);
        boolean skipCertCheck = r.bool(Setting.SKIP_CERT_CHECK);
        if (certCheckDuration.isZero() && onCertTimeout == OnCertTimeout.REMOVE_TAINT && !skipCertCheck) {
            // Fails open at once: the certificate is never waited for, whatever the rest says.
            throw InvalidSettingException.of(Setting.CERT_CHECK_DURATION, r.get(Setting.CERT_CHECK_DURATION),
                    "0 with " + Setting.ON_CERT_TIMEOUT.displayName() + "=remove-taint removes the taint at once"
                            + " without a certificate; give the certificate time, or set "
                            + Setting.SKIP_CERT_CHECK.displayName() + "=true if that is what you mean");
        }
        ConditionReport condition = r.choice(Setting.NODE_CONDITION, ConditionReport.class);
        if (condition.reports() && skipCertCheck) {
            throw InvalidSettingException.of(Setting.NODE_CONDITION, r.get(Setting.NODE_CONDITION), "reports the"
                    + " certificate check, which " + Setting.SKIP_CERT_CHECK.displayName() + "=true turns off;"
                    + " set one of them");
        }
        if (!condition.removesTaints() && onCertTimeout == OnCertTimeout.REMOVE_TAINT) {
            throw InvalidSettingException.of(Setting.NODE_CONDITION, r.get(Setting.NODE_CONDITION), "leaves the"
                    + " taint to the Node Readiness Controller, so " + Setting.ON_CERT_TIMEOUT.displayName()
                    + "=remove-taint could never apply; use keep-waiting, or node-condition=on");
        }
        return new Settings(nodeName, taints, certSource, certFile, kubeletAddress, kubeletCa, interval,
                certCheckDuration, onCertTimeout,
                r.duration(Setting.TAINT_WATCHER_DURATION), r.duration(Setting.STARTUP_JITTER),
                r.duration(Setting.SETTLE_DURATION), r.choice(Setting.MODE, Mode.class),
                skipCertCheck, r.bool(Setting.REQUIRE_CERT_IDENTITY), allowReserved, condition,
                r.choice(Setting.ADMISSION_POLICY_CHECK, AdmissionPolicyCheck.class), kubeconfig,
                healthAddress(r), r.choice(Setting.LOG_FORMAT, LogFormat.class), logLevel(r), eventNamespace(r));
    }

    private static List<TaintSelector> parseTaints(String raw) throws InvalidSettingException {
        List<TaintSelector> out = new ArrayList<>();
        for (String part : raw.split(",", -1)) {
            try {
                TaintSelector sel = TaintSelector.parse(part);
                if (!out.contains(sel)) {
                    out.add(sel);
                }
            } catch (IllegalArgumentException e) {
                throw InvalidSettingException.of(Setting.TAINT_KEY, raw, e.getMessage());
            }
        }
        return out;
    }

    /**
     * Domains whose taints belong to Kubernetes ({@code node.kubernetes.io/not-ready},
     * {@code node.cloudprovider.kubernetes.io/uninitialized}, {@code node-role.kubernetes.io/...}) or to
     * Karpenter ({@code karpenter.sh/unregistered}, {@code karpenter.sh/disrupted}), subdomains included.
     * {@code k8s.io} is not among them: {@code readiness.k8s.io/} keys are meant for node-local reporters.
     */
    private static final List<String> RESERVED_DOMAINS = List.of("kubernetes.io", "karpenter.sh");

    /** The reserved domain {@code key}'s prefix is or is under, or {@code null}. */
    private static String reservedDomain(String key) {
        int slash = key.indexOf('/');
        if (slash < 0) {
            return null;
        }
        String prefix = key.substring(0, slash);
        return RESERVED_DOMAINS.stream().filter(d -> prefix.equals(d) || prefix.endsWith("." + d)).findFirst()
                .orElse(null);
    }

    private static String kubeletAddress(SettingsReader r, boolean needed) throws InvalidSettingException {
        String raw = r.get(Setting.KUBELET_ADDRESS);
        if (raw.isEmpty() && !needed) {
            return null; // as --print-config shows an address that could not be derived
        }
        if (raw.contains("$HOST_IP")) {
            String hostIp = r.raw("HOST_IP").strip();
            if (hostIp.isEmpty()) {
                if (needed) {
                    throw InvalidSettingException.of(Setting.KUBELET_ADDRESS, raw,
                            "HOST_IP is not set (map it from status.hostIP) and no address was given");
                }
                return null;
            }
            raw = raw.replace("$HOST_IP", hostIp.indexOf(':') >= 0 ? "[" + hostIp + "]" : hostIp);
        }
        ListenAddress a = ListenAddress.parse(raw);
        if (a == null || a.host().isEmpty() || a.port() < 1) {
            throw InvalidSettingException.of(Setting.KUBELET_ADDRESS, raw, "not host:port");
        }
        return raw;
    }

    /** A level name, or a klog verbosity as the Go sample's chart sets it ({@code logLevel: 4}). */
    private static LogLevel logLevel(SettingsReader r) throws InvalidSettingException {
        Optional<LogLevel> byVerbosity = LogLevel.forVerbosity(r.get(Setting.LOG_LEVEL));
        return byVerbosity.isPresent() ? byVerbosity.get() : r.choice(Setting.LOG_LEVEL, LogLevel.class);
    }

    private static String eventNamespace(SettingsReader r) throws InvalidSettingException {
        String ns = r.raw("POD_NAMESPACE").strip();
        if (ns.isEmpty()) {
            return "default";
        }
        if (ns.length() > 63 || !NAMESPACE.matcher(ns).matches()) {
            throw new InvalidSettingException("invalid POD_NAMESPACE \"" + ns + "\": not a namespace name; accepted: a"
                    + " DNS label (map it from metadata.namespace), or unset for default");
        }
        return ns;
    }

    private static ListenAddress healthAddress(SettingsReader r) throws InvalidSettingException {
        String raw = r.get(Setting.HEALTH_ADDR);
        if ("off".equals(raw)) {
            return null;
        }
        ListenAddress a = ListenAddress.parse(raw);
        if (a == null) {
            throw InvalidSettingException.of(Setting.HEALTH_ADDR, raw);
        }
        return a;
    }
}
