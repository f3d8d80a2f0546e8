package io.github.kscu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    record Result(int code, String out, String err) {
    }

    static Result main(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void invalidSettingExitsTwoWithOneLine() {
        Result r = main(Map.of("NODE_NAME", "n", "TAINT_KEY", "a.io/x:Bad"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("kubelet-server-cert-untaint: invalid --taint-key (TAINT_KEY) \"a.io/x:Bad\": taint"
                + " effect \"Bad\" is not NoSchedule, PreferNoSchedule or NoExecute; accepted: a comma list of key or"
                + " key:Effect\n");
    }

    @Test
    void aBusyPollingCertCheckIntervalExitsTwoNamingTheFloor() {
        Result r = main(Map.of("NODE_NAME", "n"), "--cert-check-interval", "0.0001ms");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("kubelet-server-cert-untaint: invalid --cert-check-interval (CERT_CHECK_INTERVAL)"
                + " \"0.0001ms\": below the floor of 100ms").hasLineCount(1);
    }

    @Test
    void aCaBundleThatDoesNotParseExitsTwoWithOneLine(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.crt"), "not a certificate");
        Path kubeconfig = io.github.kscu.testing.ControlPlane.writeKubeconfig(dir.resolve("kubeconfig"),
                "https://127.0.0.1:1", "insecure", "u", "token=t");
        Result r = main(Map.of("NODE_NAME", "n", "CERT_SOURCE", "kubelet", "KUBELET_ADDRESS", "127.0.0.1:1",
                "KUBELET_CA_FILE", ca.toString(), "KUBECONFIG", kubeconfig.toString(), "HEALTH_ADDR", "off"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("kubelet-server-cert-untaint: invalid --kubelet-ca-file (KUBELET_CA_FILE) \""
                + ca + "\": ").contains("accepted: a PEM CA bundle path, or none").hasLineCount(1);
    }

    @Test
    void missingNodeNameExitsTwo() {
        Result r = main(Map.of());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("kubelet-server-cert-untaint: invalid --node-name (NODE_NAME) <unset>: required")
                .hasLineCount(1);
    }

    @Test
    void unknownFlagExitsTwo() {
        Result r = main(Map.of("NODE_NAME", "n"), "--bogus");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("kubelet-server-cert-untaint: unknown flag --bogus; run --help for every setting\n");
    }

    @Test
    void printConfigExitsZeroWithoutACluster() {
        Result r = main(Map.of("NODE_NAME", "n"), "--print-config", "--cert-check-duration", "90");
        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).startsWith("node-name=n\ntaint-key=example.com/kubelet-no-server-cert\n")
                .contains("\ncert-check-duration=1m30s\n").endsWith("log-level=info\n");
    }

    @Test
    void helpAndVersionExitZero() {
        assertThat(main(Map.of(), "--help")).satisfies(r -> {
            assertThat(r.code()).isZero();
            assertThat(r.out()).contains("Usage: kubelet-server-cert-untaint");
        });
        assertThat(main(Map.of(), "--version")).satisfies(r -> {
            assertThat(r.code()).isZero();
            assertThat(r.out()).startsWith("kubelet-server-cert-untaint ").contains("(commit ");
        });
    }

    @Test
    void noClusterAndNoKubeconfigExitsTwoWithAHint() {
        Result r = main(Map.of("NODE_NAME", "n", "HEALTH_ADDR", "off"));
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("kubelet-server-cert-untaint: invalid --kubeconfig (KUBECONFIG): not running in a"
                + " cluster (KUBERNETES_SERVICE_HOST is unset): pass --kubeconfig\n");
    }
}
