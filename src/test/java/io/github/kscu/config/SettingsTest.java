package io.github.kscu.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.kscu.config.Settings.CertSourceKind;
import io.github.kscu.config.Settings.LogFormat;
import io.github.kscu.config.Settings.LogLevel;
import io.github.kscu.config.Settings.Mode;
import io.github.kscu.config.Settings.OnCertTimeout;
import io.github.kscu.taint.TaintSelector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SettingsTest {
    static Settings parse(Map<String, String> env) throws InvalidSettingException {
        Map<String, String> m = new HashMap<>(env);
        m.putIfAbsent("NODE_NAME", "ip-10-0-0-1.ec2.internal");
        return Settings.fromMap(m);
    }

    static Settings parse(String... kv) throws InvalidSettingException {
        return parse(io.github.kscu.testing.TestSettings.of(Map.of(), kv));
    }

    @Test
    void defaultsMatchTheDesignTable() throws Exception {
        Settings s = parse();
        assertThat(s.nodeName()).isEqualTo("ip-10-0-0-1.ec2.internal");
        assertThat(s.taints()).containsExactly(new TaintSelector("example.com/kubelet-no-server-cert", null));
        assertThat(s.certSource()).isEqualTo(CertSourceKind.FILE);
        assertThat(s.certFile()).isEqualTo(Path.of("/var/lib/kubelet/pki/kubelet-server-current.pem"));
        assertThat(s.kubeletAddress()).isNull(); // no HOST_IP and not needed by the file source
        assertThat(s.kubeletCaFile()).isEqualTo(Path.of("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"));
        assertThat(s.certCheckInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.certCheckDuration()).isEqualTo(Duration.ofSeconds(75));
        assertThat(s.onCertTimeout()).isEqualTo(OnCertTimeout.KEEP_WAITING);
        assertThat(s.taintWatcherDuration()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.startupJitter()).isEqualTo(Duration.ofSeconds(3));
        assertThat(s.settleDuration()).isEqualTo(Duration.ofMinutes(10));
        assertThat(s.mode()).isEqualTo(Mode.BOOTSTRAP);
        assertThat(s.skipCertCheck()).isFalse();
        assertThat(s.requireCertIdentity()).isFalse();
        assertThat(s.kubeconfig()).isNull();
        assertThat(s.healthAddress()).isEqualTo(new ListenAddress("", 8080));
        assertThat(s.logFormat()).isEqualTo(LogFormat.TEXT);
        assertThat(s.logLevel()).isEqualTo(LogLevel.INFO);
    }

    @Test
    void everyEnvironmentVariableIsRead(@TempDir Path dir) throws Exception {
        Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), "apiVersion: v1\n");
        Path ca = Files.writeString(dir.resolve("ca.crt"), "x");
        Settings s = parse(Map.ofEntries(Map.entry("NODE_NAME", "node-a"),
                Map.entry("TAINT_KEY", "a.io/x, b.io/y:NoExecute"), Map.entry("CERT_SOURCE", "kubelet"),
                Map.entry("CERT_FILE", "/tmp/c.pem"), Map.entry("HOST_IP", "10.1.2.3"),
                Map.entry("KUBELET_CA_FILE", ca.toString()), Map.entry("CERT_CHECK_INTERVAL", "500ms"),
                Map.entry("CERT_CHECK_DURATION", "1m15s"), Map.entry("ON_CERT_TIMEOUT", "remove-taint"),
                Map.entry("TAINT_WATCHER_DURATION", "45"), Map.entry("STARTUP_JITTER", "0"),
                Map.entry("SETTLE_DURATION", "1h"), Map.entry("MODE", "continuous"),
                Map.entry("SKIP_CERT_CHECK", "true"), Map.entry("REQUIRE_CERT_IDENTITY", "1"),
                Map.entry("KUBECONFIG", kubeconfig.toString()), Map.entry("HEALTH_ADDR", "127.0.0.1:9654"),
                Map.entry("LOG_FORMAT", "json"), Map.entry("LOG_LEVEL", "debug")));
        assertThat(s.nodeName()).isEqualTo("node-a");
        assertThat(s.taints()).containsExactly(new TaintSelector("a.io/x", null),
                new TaintSelector("b.io/y", "NoExecute"));
        assertThat(s.certSource()).isEqualTo(CertSourceKind.KUBELET);
        assertThat(s.certFile()).isEqualTo(Path.of("/tmp/c.pem"));
        assertThat(s.kubeletAddress()).isEqualTo("10.1.2.3:10250");
        assertThat(s.kubeletCaFile()).isEqualTo(ca);
        assertThat(s.certCheckInterval()).isEqualTo(Duration.ofMillis(500));
        assertThat(s.certCheckDuration()).isEqualTo(Duration.ofSeconds(75));
        assertThat(s.onCertTimeout()).isEqualTo(OnCertTimeout.REMOVE_TAINT);
        assertThat(s.taintWatcherDuration()).isEqualTo(Duration.ofSeconds(45));
        assertThat(s.startupJitter()).isZero();
        assertThat(s.settleDuration()).isEqualTo(Duration.ofHours(1));
        assertThat(s.mode()).isEqualTo(Mode.CONTINUOUS);
        assertThat(s.skipCertCheck()).isTrue();
        assertThat(s.requireCertIdentity()).isTrue();
        assertThat(s.kubeconfig()).isEqualTo(kubeconfig);
        assertThat(s.healthAddress()).isEqualTo(new ListenAddress("127.0.0.1", 9654));
        assertThat(s.logFormat()).isEqualTo(LogFormat.JSON);
        assertThat(s.logLevel()).isEqualTo(LogLevel.DEBUG);
    }

    @Test
    void ipv6HostIpIsBracketed() throws Exception {
        assertThat(parse("CERT_SOURCE", "kubelet", "HOST_IP", "fd00::1", "KUBELET_CA_FILE", "none").kubeletAddress())
                .isEqualTo("[fd00::1]:10250");
    }

    @Test
    void duplicateTaintSelectorsCollapse() throws Exception {
        assertThat(parse("TAINT_KEY", "a.io/x,a.io/x").taints()).hasSize(1);
    }

    @Test
    void healthServerCanBeTurnedOff() throws Exception {
        assertThat(parse("HEALTH_ADDR", "off").healthAddress()).isNull();
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            NODE_NAME              | ''           | invalid --node-name (NODE_NAME) "": required; accepted: a DNS subdomain name
            NODE_NAME              | Node_A       | invalid --node-name (NODE_NAME) "Node_A": not a lowercase DNS subdomain
            TAINT_KEY              | ''           | invalid --taint-key (TAINT_KEY) "": empty taint key; accepted: a comma list of key or key:Effect
            TAINT_KEY              | a.io/x,      | invalid --taint-key (TAINT_KEY) "a.io/x,": empty taint key
            TAINT_KEY              | a.io/x:Never | invalid --taint-key (TAINT_KEY) "a.io/x:Never": taint effect "Never" is not NoSchedule, PreferNoSchedule or NoExecute
            TAINT_KEY              | a.io/x=v:NoSchedule | must not carry a value
            TAINT_KEY              | -bad         | taint key name "-bad" is not a qualified name
            TAINT_KEY              | Bad_Prefix/x | taint key prefix "Bad_Prefix" is not a DNS subdomain
            CERT_SOURCE            | http         | invalid --cert-source (CERT_SOURCE) "http"; accepted: file or kubelet
            CERT_FILE              | relative.pem | invalid --cert-file (CERT_FILE) "relative.pem": not an absolute path; accepted: an absolute path
            CERT_CHECK_INTERVAL    | 0            | invalid --cert-check-interval (CERT_CHECK_INTERVAL) "0": below the floor of 100ms
            CERT_CHECK_INTERVAL    | 0.0001ms     | invalid --cert-check-interval (CERT_CHECK_INTERVAL) "0.0001ms": below the floor of 100ms
            CERT_CHECK_INTERVAL    | 99ms         | invalid --cert-check-interval (CERT_CHECK_INTERVAL) "99ms": below the floor of 100ms
            CERT_CHECK_INTERVAL    | -5           | invalid --cert-check-interval (CERT_CHECK_INTERVAL) "-5"; accepted: a duration from 100ms to 10m such as 2, 2s or 500ms
            CERT_CHECK_DURATION    | 5 minutes    | invalid --cert-check-duration (CERT_CHECK_DURATION) "5 minutes"; accepted: a duration up to 24h such as 75, 75s or 1m15s
            CERT_CHECK_DURATION    | 1d           | invalid --cert-check-duration (CERT_CHECK_DURATION) "1d"
            TAINT_WATCHER_DURATION | -1s          | invalid --taint-watcher-duration (TAINT_WATCHER_DURATION) "-1s"
            STARTUP_JITTER         | 3x           | invalid --startup-jitter (STARTUP_JITTER) "3x"
            SETTLE_DURATION        | forever      | invalid --settle-duration (SETTLE_DURATION) "forever"
            ON_CERT_TIMEOUT        | ignore       | invalid --on-cert-timeout (ON_CERT_TIMEOUT) "ignore"; accepted: keep-waiting or remove-taint
            MODE                   | always       | invalid --mode (MODE) "always"; accepted: bootstrap or continuous
            SKIP_CERT_CHECK        | yes          | invalid --skip-cert-check (SKIP_CERT_CHECK) "yes"; accepted: true or false
            REQUIRE_CERT_IDENTITY  | maybe        | invalid --require-cert-identity (REQUIRE_CERT_IDENTITY) "maybe"; accepted: true or false
            KUBECONFIG             | /nonexistent/kubeconfig | invalid --kubeconfig (KUBECONFIG) "/nonexistent/kubeconfig": not a readable file
            KUBECONFIG             | /a:/b        | a list of files is not supported
            HEALTH_ADDR            | 8080         | invalid --health-addr (HEALTH_ADDR) "8080"; accepted: [host]:port, port 0-65535, or off
            HEALTH_ADDR            | :70000       | invalid --health-addr (HEALTH_ADDR) ":70000"
            LOG_FORMAT             | xml          | invalid --log-format (LOG_FORMAT) "xml"; accepted: text or json
            LOG_LEVEL              | verbose      | invalid --log-level (LOG_LEVEL) "verbose"; accepted: trace, debug, info, warn, error, or a klog verbosity 0-10
            LOG_LEVEL              | 11           | invalid --log-level (LOG_LEVEL) "11"
            LOG_LEVEL              | -1           | invalid --log-level (LOG_LEVEL) "-1"
            NODE_CONDITION         | true         | invalid --node-condition (NODE_CONDITION) "true"; accepted: off, on or reporter-only
            ADMISSION_POLICY_CHECK | strict       | invalid --admission-policy-check (ADMISSION_POLICY_CHECK) "strict"; accepted: warn, require or off
            """)
    void invalidValuesNameTheSettingTheValueAndWhatIsAccepted(String env, String value, String message) {
        assertThatThrownBy(() -> parse(env, value))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining(message)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").contains("accepted:"));
    }

    /** The Go sample's chart sets {@code logLevel: 4}, a klog verbosity: mapped as {@code -v} is. */
    @ParameterizedTest(name = "LOG_LEVEL={0} -> {1}")
    @CsvSource({"0, INFO", "2, INFO", "3, DEBUG", "4, DEBUG", "5, TRACE", "10, TRACE", "warn, WARN"})
    void logLevelTakesAKlogVerbosity(String value, Settings.LogLevel level) throws Exception {
        assertThat(parse("LOG_LEVEL", value).logLevel()).isEqualTo(level);
    }

    @Test
    void theAdmissionPolicyCheckWarnsByDefault() throws Exception {
        assertThat(parse().admissionPolicyCheck()).isEqualTo(Settings.AdmissionPolicyCheck.WARN);
        assertThat(parse("ADMISSION_POLICY_CHECK", "require").admissionPolicyCheck())
                .isEqualTo(Settings.AdmissionPolicyCheck.REQUIRE);
        assertThat(parse("ADMISSION_POLICY_CHECK", "off").admissionPolicyCheck())
                .isEqualTo(Settings.AdmissionPolicyCheck.OFF);
    }

    @Test
    void eventsGoToThePodsNamespaceOrDefault() throws Exception {
        assertThat(parse().eventNamespace()).isEqualTo("default");
        assertThat(parse("POD_NAMESPACE", "kube-system").eventNamespace()).isEqualTo("kube-system");
        assertThatThrownBy(() -> parse("POD_NAMESPACE", "Kube_System")).isInstanceOf(InvalidSettingException.class)
                .hasMessage("invalid POD_NAMESPACE \"Kube_System\": not a namespace name; accepted: a DNS label (map it"
                        + " from metadata.namespace), or unset for default");
    }

    /** Each duration has its limit: beyond it a deadline could overflow into a busy loop. */
    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            TAINT_WATCHER_DURATION | 2562047h | invalid --taint-watcher-duration (TAINT_WATCHER_DURATION) "2562047h": above the limit of 24h; accepted: a duration up to 24h such as 30, 30s or 1m
            TAINT_WATCHER_DURATION | 24h0.001s | above the limit of 24h
            CERT_CHECK_DURATION    | 999999999 | invalid --cert-check-duration (CERT_CHECK_DURATION) "999999999": above the limit of 24h
            CERT_CHECK_INTERVAL    | 10m1s    | invalid --cert-check-interval (CERT_CHECK_INTERVAL) "10m1s": above the limit of 10m
            STARTUP_JITTER         | 11m      | invalid --startup-jitter (STARTUP_JITTER) "11m": above the limit of 10m
            SETTLE_DURATION        | 721h     | invalid --settle-duration (SETTLE_DURATION) "721h": above the limit of 720h
            SETTLE_DURATION        | 2562047.8h | invalid --settle-duration (SETTLE_DURATION) "2562047.8h"
            """)
    void everyDurationIsBounded(String env, String value, String message) {
        assertThatThrownBy(() -> parse(env, value)).isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining(message).satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void everyDurationAtItsLimitIsAccepted() throws Exception {
        for (Setting s : Setting.values()) {
            if (s.maxDuration() != null) {
                assertThat(parse(s.env(), Durations.format(s.maxDuration())).describe().get(s.flag()))
                        .as(s.env()).isEqualTo(Durations.format(s.maxDuration()));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"node.kubernetes.io/not-ready, kubernetes.io", "node.cloudprovider.kubernetes.io/uninitialized, kubernetes.io",
            "node-role.kubernetes.io/control-plane:NoSchedule, kubernetes.io", "kubernetes.io/x, kubernetes.io",
            "karpenter.sh/unregistered, karpenter.sh", "karpenter.sh/disrupted:NoSchedule, karpenter.sh"})
    void aTaintKeyThatKubernetesOrKarpenterOwnsIsRefusedUnlessAllowed(String key, String domain) throws Exception {
        assertThatThrownBy(() -> parse("TAINT_KEY", "example.com/ours," + key))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageStartingWith("invalid --taint-key (TAINT_KEY) \"example.com/ours," + key + "\": \""
                        + key.replaceAll(":.*", "") + "\" is under " + domain + ", whose taints Kubernetes or Karpenter own")
                .hasMessageContaining("set --allow-reserved-taint-key (ALLOW_RESERVED_TAINT_KEY)=true");
        assertThat(parse("TAINT_KEY", key, "ALLOW_RESERVED_TAINT_KEY", "true").taints()).hasSize(1);
    }

    @ParameterizedTest
    @CsvSource({"readiness.k8s.io/kubelet-serving-certificate", "example.com/kubernetes.io", "notkubernetes.io/x",
            "karpenter.k8s.aws/x", "node.example.com/kubelet-no-server-cert"})
    void keysOutsideThoseDomainsAreAccepted(String key) throws Exception {
        assertThat(parse("TAINT_KEY", key).taints()).hasSize(1);
    }

    @Test
    void aConditionThatCouldReportNothingOrNeverApplyIsRefused() throws Exception {
        assertThatThrownBy(() -> parse("NODE_CONDITION", "on", "SKIP_CERT_CHECK", "true"))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessage("invalid --node-condition (NODE_CONDITION) \"on\": reports the certificate check, which"
                        + " --skip-cert-check (SKIP_CERT_CHECK)=true turns off; set one of them; accepted: off, on or"
                        + " reporter-only");
        assertThatThrownBy(() -> parse("NODE_CONDITION", "reporter-only", "ON_CERT_TIMEOUT", "remove-taint"))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("leaves the taint to the Node Readiness Controller, so --on-cert-timeout"
                        + " (ON_CERT_TIMEOUT)=remove-taint could never apply");
        assertThat(parse().conditionReport()).isEqualTo(Settings.ConditionReport.OFF);
        Settings reporter = parse("NODE_CONDITION", "reporter-only");
        assertThat(reporter.conditionReport().reports()).isTrue();
        assertThat(reporter.conditionReport().removesTaints()).isFalse();
        assertThat(reporter.describe()).containsEntry("node-condition", "reporter-only");
        assertThat(parse("NODE_CONDITION", "on", "ON_CERT_TIMEOUT", "remove-taint").conditionReport().removesTaints())
                .isTrue();
    }

    @Test
    void noTimeToWaitWithRemoveTaintIsRefusedAsTheFailOpenItWouldBe() throws Exception {
        assertThatThrownBy(() -> parse("CERT_CHECK_DURATION", "0", "ON_CERT_TIMEOUT", "remove-taint"))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessage("invalid --cert-check-duration (CERT_CHECK_DURATION) \"0\": 0 with --on-cert-timeout"
                        + " (ON_CERT_TIMEOUT)=remove-taint removes the taint at once without a certificate; give the"
                        + " certificate time, or set --skip-cert-check (SKIP_CERT_CHECK)=true if that is what you mean;"
                        + " accepted: a duration up to 24h such as 75, 75s or 1m15s");
        assertThat(parse("CERT_CHECK_DURATION", "0", "ON_CERT_TIMEOUT", "keep-waiting").certCheckDuration()).isZero();
        assertThat(parse("CERT_CHECK_DURATION", "1s", "ON_CERT_TIMEOUT", "remove-taint").certCheckDuration())
                .isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void theKubeletsHostIsTheAddressWithoutPortOrBrackets() throws Exception {
        assertThat(parse("HOST_IP", "10.0.0.1").kubeletEndpoint().host()).isEqualTo("10.0.0.1");
        assertThat(parse("HOST_IP", "2001:db8::1").kubeletEndpoint().host()).isEqualTo("2001:db8::1");
        assertThat(parse().kubeletEndpoint()).isNull();
    }

    @Test
    void certCheckIntervalAtTheFloorIsAccepted() throws Exception {
        assertThat(parse("CERT_CHECK_INTERVAL", "100ms").certCheckInterval()).isEqualTo(Settings.MIN_CERT_CHECK_INTERVAL);
    }

    @Test
    void kubeletSourceNeedsAnAddress() {
        assertThatThrownBy(() -> parse("CERT_SOURCE", "kubelet", "KUBELET_CA_FILE", "none"))
                .hasMessage("invalid --kubelet-address (KUBELET_ADDRESS) \"$HOST_IP:10250\": HOST_IP is not set (map it"
                        + " from status.hostIP) and no address was given; accepted: host:port");
        assertThatThrownBy(() -> parse("CERT_SOURCE", "kubelet", "KUBELET_ADDRESS", "10.0.0.1",
                "KUBELET_CA_FILE", "none")).hasMessageContaining("not host:port");
    }

    @Test
    void kubeletSourceNeedsAReadableCaUnlessNone() throws Exception {
        assertThatThrownBy(() -> parse("CERT_SOURCE", "kubelet", "HOST_IP", "10.0.0.1",
                "KUBELET_CA_FILE", "/nonexistent/ca.crt")).hasMessageContaining("file is not readable");
        assertThat(parse("CERT_SOURCE", "kubelet", "HOST_IP", "10.0.0.1", "KUBELET_CA_FILE", "none").kubeletCaFile())
                .isNull();
    }

    @Test
    void aDirectoryIsNotAKubeconfig(@TempDir Path dir) {
        assertThatThrownBy(() -> parse("KUBECONFIG", dir.toString())).hasMessageContaining("not a readable file");
    }

    @Test
    void describeListsEverySettingInTableOrder() throws Exception {
        Map<String, String> d = parse().describe();
        assertThat(d.keySet()).containsExactly(java.util.Arrays.stream(Setting.values()).map(Setting::flag)
                .toArray(String[]::new));
        assertThat(d).containsEntry("cert-check-duration", "1m15s").containsEntry("health-addr", ":8080")
                .containsEntry("on-cert-timeout", "keep-waiting").containsEntry("kubeconfig", "");
    }

    @Test
    void printedSettingsReadBackAsTheSameSettings() throws Exception {
        Settings s = parse("TAINT_KEY", "a.io/x,b.io/y:NoExecute", "CERT_CHECK_DURATION", "90", "MODE", "continuous",
                "HEALTH_ADDR", "127.0.0.1:9654");
        Map<String, String> env = new java.util.HashMap<>();
        s.describe().forEach((flag, value) -> env.put(flag.toUpperCase(java.util.Locale.ROOT).replace('-', '_'), value));
        assertThat(Settings.fromMap(env)).isEqualTo(s);
    }

    @Test
    void taintListIsImmutable() throws Exception {
        List<TaintSelector> taints = parse().taints();
        assertThatThrownBy(() -> taints.add(null)).isInstanceOf(UnsupportedOperationException.class);
    }

    static Path unreadable(Path dir) throws IOException {
        return Files.writeString(dir.resolve("x"), "");
    }
}
