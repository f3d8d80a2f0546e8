package io.github.kscu.config;

import java.time.Duration;
import java.util.Locale;

/**
 * Every setting the agent accepts: its flag, its environment variable, its default and what it accepts.
 * The command line, the environment, {@code --help}, {@code --print-config} and every error message are
 * derived from this one table, so they cannot drift apart.
 */
public enum Setting {
    NODE_NAME("node-name", null, "a DNS subdomain name (downward API spec.nodeName)",
            "Name of the Node this agent runs on."),
    TAINT_KEY("taint-key", "example.com/kubelet-no-server-cert", "a comma list of key or key:Effect",
            "Startup taint(s) to remove once the serving certificate is valid."),
    CERT_SOURCE("cert-source", "file", "file or kubelet",
            "Where the serving certificate is checked: the PEM file or the kubelet's TLS port."),
    CERT_FILE("cert-file", "/var/lib/kubelet/pki/kubelet-server-current.pem", "an absolute path",
            "Kubelet serving certificate (PEM; the kubelet's symlink is followed)."),
    KUBELET_ADDRESS("kubelet-address", "$HOST_IP:10250", "host:port",
            "Kubelet serving endpoint dialled by --cert-source=kubelet."),
    KUBELET_CA_FILE("kubelet-ca-file", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
            "a PEM CA bundle path, or none",
            "CA bundle that must have signed the kubelet's certificate; none skips chain verification."),
    CERT_CHECK_INTERVAL("cert-check-interval", "2s", "a duration from 100ms to 10m such as 2, 2s or 500ms",
            "Safety-net poll interval; file changes are seen at once through inotify."),
    CERT_CHECK_DURATION("cert-check-duration", "75s", "a duration up to 24h such as 75, 75s or 1m15s",
            "How long to wait for a valid certificate before the timeout policy applies."),
    ON_CERT_TIMEOUT("on-cert-timeout", "keep-waiting", "keep-waiting or remove-taint",
            "After --cert-check-duration: keep waiting (a late certificate still untaints) or fail open."),
    TAINT_WATCHER_DURATION("taint-watcher-duration", "30s", "a duration up to 24h such as 30, 30s or 1m",
            "Warn (Event TaintRemovalSlow) if removal has not succeeded after this long; never gives up."),
    STARTUP_JITTER("startup-jitter", "3s", "a duration up to 10m such as 3, 3s or 0",
            "Random delay before the first write, only when the certificate is already valid at start."),
    SETTLE_DURATION("settle-duration", "10m", "a duration up to 720h such as 10m or 0",
            "How long to keep watching the Node and remove the taint again if it returns."),
    MODE("mode", "bootstrap", "bootstrap or continuous",
            "bootstrap stops watching after the settle window; continuous watches for ever."),
    SKIP_CERT_CHECK("skip-cert-check", "false", "true or false",
            "Do not wait for a certificate: a generic startup-taint remover."),
    REQUIRE_CERT_IDENTITY("require-cert-identity", "false", "true or false",
            "Also require the subject CN=system:node:<node-name> (the SANs always must cover the kubelet's address)."),
    ALLOW_RESERVED_TAINT_KEY("allow-reserved-taint-key", "false", "true or false",
            "Accept a taint key under kubernetes.io or karpenter.sh, whose taints Kubernetes or Karpenter own."),
    NODE_CONDITION("node-condition", "off", "off, on or reporter-only",
            "Also report the certificate's verdict as a condition on the Node (needs nodes/status patch);"
                    + " reporter-only reports it and leaves the taint to the Node Readiness Controller."),
    ADMISSION_POLICY_CHECK("admission-policy-check", "warn", "warn, require or off",
            "At start, dry-run a change the admission policy must refuse; if it is allowed: warn, or require"
                    + " (remove no taint until the policy is in force); off skips the check."),
    KUBECONFIG("kubeconfig", "", "a readable kubeconfig file, or empty for in-cluster",
            "Kubeconfig to use instead of the pod's service account."),
    HEALTH_ADDR("health-addr", ":8080", "[host]:port, port 0-65535, or off",
            "Listen address of /healthz, /readyz and /metrics."),
    LOG_FORMAT("log-format", "text", "text or json", "Log format on stdout."),
    LOG_LEVEL("log-level", "info", "trace, debug, info, warn, error, or a klog verbosity 0-10",
            "Lowest level logged; a verbosity (the Go sample's logLevel) is 0-2 info, 3-4 debug, 5-10 trace.");

    private final String flag;
    private final String defaultValue;
    private final String accepted;
    private final String description;

    Setting(String flag, String defaultValue, String accepted, String description) {
        this.flag = flag;
        this.defaultValue = defaultValue;
        this.accepted = accepted;
        this.description = description;
    }

    /** The flag name without dashes, e.g. {@code taint-key}; also the key in {@code --print-config}. */
    public String flag() {
        return flag;
    }

    public String env() {
        return flag.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /** The documented default, or {@code null} when the setting is required. */
    public String defaultValue() {
        return defaultValue;
    }

    public String accepted() {
        return accepted;
    }

    public String description() {
        return description;
    }

    public boolean isBoolean() {
        return this == SKIP_CERT_CHECK || this == REQUIRE_CERT_IDENTITY || this == ALLOW_RESERVED_TAINT_KEY;
    }

    /**
     * The longest duration this setting takes, or {@code null} when it is not a duration. Every duration
     * is bounded: beyond these a value is a mistake, and deadlines computed from it must never overflow
     * ({@code nanoTime() + 2562047h} wraps into the past and turns a wait into a busy loop).
     */
    public Duration maxDuration() {
        return switch (this) {
            case CERT_CHECK_INTERVAL, STARTUP_JITTER -> Duration.ofMinutes(10);
            case CERT_CHECK_DURATION, TAINT_WATCHER_DURATION -> Duration.ofHours(24);
            case SETTLE_DURATION -> Duration.ofHours(720);
            default -> null;
        };
    }

    /** How error messages name this setting: both spellings an operator might have used. */
    public String displayName() {
        return "--" + flag + " (" + env() + ")";
    }
}
