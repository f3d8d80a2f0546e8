package io.github.kscu.config;

import io.github.kscu.taint.TaintSelector;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The agent's effective configuration: parsed once, validated completely, immutable.
 *
 * @param kubeletAddress  {@code host:port}; {@code null} when it could not be derived and is not needed
 * @param kubeletCaFile   CA bundle for the kubelet source; {@code null} means "none" (no chain check)
 * @param kubeconfig      {@code null} means in-cluster configuration
 * @param healthAddress   {@code null} means the health server is off
 */
public record Settings(
        String nodeName,
        List<TaintSelector> taints,
        CertSource certSource,
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
        Path kubeconfig,
        ListenAddress healthAddress,
        LogFormat logFormat,
        LogLevel logLevel) {

    public enum CertSource { FILE, KUBELET }

    public enum OnCertTimeout { KEEP_WAITING, REMOVE_TAINT }

    public enum Mode { BOOTSTRAP, CONTINUOUS }

    public enum LogFormat { TEXT, JSON }

    public enum LogLevel { TRACE, DEBUG, INFO, WARN, ERROR }

    private static final Pattern NODE_NAME =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern HOST_PORT = Pattern.compile("(?:\\[([0-9A-Fa-f:.]+)]|([^:\\[\\]]*)):(\\d{1,5})");

    public Settings {
        taints = List.copyOf(taints);
    }

    /**
     * Builds the settings from a map keyed by environment variable names ({@link Setting#env()}). The
     * command line is folded into the same map first, so flags win over the environment.
     */
    public static Settings fromMap(Map<String, String> values) throws InvalidSettingException {
        Reader r = new Reader(values);
        String nodeName = r.required(Setting.NODE_NAME);
        if (nodeName.length() > 253 || !NODE_NAME.matcher(nodeName).matches()) {
            throw InvalidSettingException.of(Setting.NODE_NAME, nodeName, "not a lowercase DNS subdomain");
        }
        List<TaintSelector> taints = parseTaints(r.get(Setting.TAINT_KEY));
        CertSource certSource = r.choice(Setting.CERT_SOURCE, CertSource.class);
        Path certFile = r.path(Setting.CERT_FILE);
        if (!certFile.isAbsolute()) {
            throw InvalidSettingException.of(Setting.CERT_FILE, r.get(Setting.CERT_FILE), "not an absolute path");
        }
        String kubeletAddress = kubeletAddress(r, certSource == CertSource.KUBELET);
        Path kubeletCa = "none".equals(r.get(Setting.KUBELET_CA_FILE)) ? null : r.path(Setting.KUBELET_CA_FILE);
        if (certSource == CertSource.KUBELET && kubeletCa != null && !Files.isReadable(kubeletCa)) {
            throw InvalidSettingException.of(Setting.KUBELET_CA_FILE, kubeletCa.toString(), "file is not readable");
        }
        Duration interval = r.duration(Setting.CERT_CHECK_INTERVAL);
        if (interval.isZero()) {
            throw InvalidSettingException.of(Setting.CERT_CHECK_INTERVAL, r.get(Setting.CERT_CHECK_INTERVAL),
                    "must be greater than zero");
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
        return new Settings(nodeName, taints, certSource, certFile, kubeletAddress, kubeletCa, interval,
                r.duration(Setting.CERT_CHECK_DURATION), r.choice(Setting.ON_CERT_TIMEOUT, OnCertTimeout.class),
                r.duration(Setting.TAINT_WATCHER_DURATION), r.duration(Setting.STARTUP_JITTER),
                r.duration(Setting.SETTLE_DURATION), r.choice(Setting.MODE, Mode.class),
                r.bool(Setting.SKIP_CERT_CHECK), r.bool(Setting.REQUIRE_CERT_IDENTITY), kubeconfig,
                healthAddress(r), r.choice(Setting.LOG_FORMAT, LogFormat.class),
                r.choice(Setting.LOG_LEVEL, LogLevel.class));
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
        out.put(Setting.KUBECONFIG.flag(), kubeconfig == null ? "" : kubeconfig.toString());
        out.put(Setting.HEALTH_ADDR.flag(), healthAddress == null ? "off" : healthAddress.toString());
        out.put(Setting.LOG_FORMAT.flag(), lower(logFormat));
        out.put(Setting.LOG_LEVEL.flag(), lower(logLevel));
        return out;
    }

    /** A copy with another node name, for running many agents in one process (tests, benchmarks). */
    public Settings withNodeName(String name) {
        return new Settings(name, taints, certSource, certFile, kubeletAddress, kubeletCaFile, certCheckInterval,
                certCheckDuration, onCertTimeout, taintWatcherDuration, startupJitter, settleDuration, mode,
                skipCertCheck, requireCertIdentity, kubeconfig, healthAddress, logFormat, logLevel);
    }

    /** A copy reading the certificate from another file. */
    public Settings withCertFile(Path file) {
        return new Settings(nodeName, taints, certSource, file, kubeletAddress, kubeletCaFile, certCheckInterval,
                certCheckDuration, onCertTimeout, taintWatcherDuration, startupJitter, settleDuration, mode,
                skipCertCheck, requireCertIdentity, kubeconfig, healthAddress, logFormat, logLevel);
    }

    /** How an enum value is spelled in flags and output: {@code KEEP_WAITING} is {@code keep-waiting}. */
    public static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
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

    private static String kubeletAddress(Reader r, boolean needed) throws InvalidSettingException {
        String raw = r.get(Setting.KUBELET_ADDRESS);
        if (raw.contains("$HOST_IP")) {
            String hostIp = r.values.getOrDefault("HOST_IP", "").strip();
            if (hostIp.isEmpty()) {
                if (needed) {
                    throw InvalidSettingException.of(Setting.KUBELET_ADDRESS, raw,
                            "HOST_IP is not set (map it from status.hostIP) and no address was given");
                }
                return null;
            }
            raw = raw.replace("$HOST_IP", hostIp.indexOf(':') >= 0 ? "[" + hostIp + "]" : hostIp);
        }
        Matcher m = matchHostPort(raw);
        if (m == null || m.host().isEmpty() || m.port() < 1) {
            throw InvalidSettingException.of(Setting.KUBELET_ADDRESS, raw, "not host:port");
        }
        return raw;
    }

    private static ListenAddress healthAddress(Reader r) throws InvalidSettingException {
        String raw = r.get(Setting.HEALTH_ADDR);
        if ("off".equals(raw)) {
            return null;
        }
        Matcher m = matchHostPort(raw);
        if (m == null) {
            throw InvalidSettingException.of(Setting.HEALTH_ADDR, raw);
        }
        return new ListenAddress(m.host(), m.port());
    }

    private record Matcher(String host, int port) {
    }

    private static Matcher matchHostPort(String raw) {
        java.util.regex.Matcher m = HOST_PORT.matcher(raw.strip());
        if (!m.matches()) {
            return null;
        }
        int port = Integer.parseInt(m.group(3));
        if (port > 65535) {
            return null;
        }
        return new Matcher(m.group(1) != null ? m.group(1) : m.group(2), port);
    }

    /** Reads raw values with their defaults and turns a bad one into its one-line error. */
    private record Reader(Map<String, String> values) {
        String get(Setting s) {
            String v = values.get(s.env());
            return v == null ? (s.defaultValue() == null ? null : s.defaultValue()) : v.strip();
        }

        String required(Setting s) throws InvalidSettingException {
            String v = get(s);
            if (v == null || v.isEmpty()) {
                throw InvalidSettingException.of(s, v, "required");
            }
            return v;
        }

        Path path(Setting s) throws InvalidSettingException {
            String v = get(s);
            try {
                return Path.of(v);
            } catch (InvalidPathException e) {
                throw InvalidSettingException.of(s, v, "not a path");
            }
        }

        Duration duration(Setting s) throws InvalidSettingException {
            String v = get(s);
            Optional<Duration> d = Durations.parse(v);
            if (d.isEmpty()) {
                throw InvalidSettingException.of(s, v);
            }
            return d.get();
        }

        boolean bool(Setting s) throws InvalidSettingException {
            String v = get(s);
            return switch (v) {
                case "1", "t", "T", "true", "TRUE", "True" -> true;
                case "0", "f", "F", "false", "FALSE", "False" -> false;
                default -> throw InvalidSettingException.of(s, v);
            };
        }

        <E extends Enum<E>> E choice(Setting s, Class<E> type) throws InvalidSettingException {
            String v = get(s);
            for (E e : type.getEnumConstants()) {
                if (lower(e).equals(v)) {
                    return e;
                }
            }
            throw InvalidSettingException.of(s, v);
        }
    }
}
