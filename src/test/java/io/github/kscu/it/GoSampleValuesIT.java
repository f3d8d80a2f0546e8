package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.CpuCgroup;
import io.github.kscu.testing.FakeKubeletTls;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.LimitedAgent;
import io.github.kscu.testing.TestCerts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The AWS Go sample's users, as they are: its chart's values file with every key and its shipped values
 * (charts/sample-kubelet-server-cert-untaint/values.yaml.template: {@code logLevel: 4}, durations as bare
 * seconds, a 10m CPU limit, two tolerations; the nodeAffinity its plain manifest uses), fed unchanged to
 * {@code helm install} and {@code helm upgrade} with helm v3 and v4. Then the agent runs as that release
 * deploys it, with its settings, its ServiceAccount's pod-bound token and the DaemonSet's CPU limit in
 * force (a CFS quota), and must remove the taint within 10 s of the kubelet serving a valid certificate.
 */
@ExtendWith(ControlPlaneExtension.class)
@ControlPlaneExtension.Options
class GoSampleValuesIT {
    private static final Path CHART = Path.of("charts/kubelet-server-cert-untaint").toAbsolutePath();
    private static final Path RUNTIME = Path.of("target/runtime").toAbsolutePath();
    private static final String RELEASE = "kscu";
    private static final String NAME = "kscu-kubelet-server-cert-untaint";
    /** The template's values; only its image placeholders are filled (its Makefile's defaults name its own image). */
    static final String VALUES = """
            # -- Custom labels to add into metadata
            customLabels: {}

            podLabels: {}

            image:
              repository: "ghcr.io/kubelet-server-cert-untaint/kubelet-server-cert-untaint"
              tag: "0.1.0"
              pullPolicy: IfNotPresent

            taintKey: "example.com/kubelet-no-server-cert"
            certCheckInterval: 5
            startupJitter: 3
            taintWatcherDuration: 30
            certCheckDuration: 75
            logLevel: 4
            skipCertCheck: false

            resources:
              limits:
                cpu: 10m
                memory: 80Mi
              requests:
                cpu: 10m
                memory: 80Mi

            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms:
                - matchExpressions:
                  - {key: kubernetes.io/os, operator: In, values: [linux]}
                  - {key: karpenter.sh/nodepool, operator: In, values: [sample]}

            tolerations:
              - effect: NoSchedule
                operator: Exists
              - effect: NoExecute
                operator: Exists
            """;

    private final ControlPlane cp;
    private final Kube kube;

    GoSampleValuesIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
        ControlPlane.requireTools("the Go sample's values", "helm", "helm4");
    }

    @Test
    void installAndUpgradeTakeTheValuesUnchangedWithHelm3And4(@TempDir Path dir) throws Exception {
        Path values = Files.writeString(dir.resolve("values.yaml"), VALUES);
        for (String helm : List.of("helm", "helm4")) {
            String notes = cp.tool(helm, null, "install", RELEASE, CHART.toString(), "--namespace", "kube-system",
                    "-f", values.toString());
            assertThat(notes).contains("resources.limits.cpu 10m is below").contains("gets 200m instead");
            cp.tool(helm, null, "upgrade", RELEASE, CHART.toString(), "--namespace", "kube-system", "-f",
                    values.toString());
            Map<String, Object> config = data(get("/api/v1/namespaces/kube-system/configmaps/" + NAME));
            assertThat(config).containsEntry("LOG_LEVEL", "4").containsEntry("CERT_CHECK_INTERVAL", "5")
                    .containsEntry("TAINT_WATCHER_DURATION", "30").containsEntry("SKIP_CERT_CHECK", "false");
            assertThat(cpuLimitMillis()).isEqualTo(200);
            cp.tool(helm, null, "uninstall", RELEASE, "--namespace", "kube-system", "--wait");
        }
    }

    @Test
    void theAgentRemovesTheTaintWithin10sOfAValidCertificateUnderTheReleasesCpuLimit(@TempDir Path dir)
            throws Exception {
        Path values = Files.writeString(dir.resolve("values.yaml"), VALUES);
        cp.tool("helm", null, "install", RELEASE, CHART.toString(), "--namespace", "kube-system", "-f",
                values.toString(), "--set", "fullnameOverride=" + NAME + "-run");
        String node = "go-sample";
        kube.createNode(node, OURS + ":NoSchedule");
        TestCerts.Issued ca = TestCerts.ca("cluster-ca");
        Path caFile = Files.writeString(dir.resolve("ca.crt"), ca.certificatePem());
        int millicores = cpuLimitMillis(NAME + "-run");
        Map<String, String> env = new HashMap<>();
        data(get("/api/v1/namespaces/kube-system/configmaps/" + NAME + "-run")).forEach((k, v) -> env.put(k, (String) v));
        try (FakeKubeletTls kubelet = new FakeKubeletTls();
                CpuCgroup cgroup = CpuCgroup.create("kscu-go-sample", millicores)) {
            // As the DaemonSet's downward API and the pod's mounts give them; the kubelet is a fake on
            // loopback, and the token is the release's ServiceAccount's, bound to a pod on the node.
            env.putAll(Map.of("NODE_NAME", node, "HOST_IP", "127.0.0.1", "POD_NAMESPACE", "kube-system",
                    "KUBELET_ADDRESS", kubelet.address(), "KUBELET_CA_FILE", caFile.toString(), "HEALTH_ADDR",
                    "127.0.0.1:0", "KUBECONFIG", cp.tokenKubeconfig("go-sample",
                            kube.podBoundToken("kube-system", NAME + "-run", node)).toString()));
            ProcessBuilder agent = ImageCommand.agent(RUNTIME, env, "-XX:AOTCache=" + RUNTIME.resolve("app/app.aot"));
            Path log = dir.resolve("agent.log");
            long spawned = System.nanoTime();
            Process p = agent.command(cgroup.wrap(agent.command())).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!Files.readString(log).contains("agent started") && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                double startSeconds = (System.nanoTime() - spawned) / 1e9;
                assertThat(Files.readString(log)).as("started within 60 s under %dm", millicores)
                        .contains("agent started");
                while (kubelet.handshakes() < 2 && System.nanoTime() < deadline) {
                    Thread.sleep(20); // probing: the kubelet has no certificate yet
                }
                long valid = System.nanoTime();
                kubelet.serve(TestCerts.serving(ca, node));
                boolean untainted = LimitedAgent.awaitUntainted(kube, node, Duration.ofSeconds(10));
                double seconds = (System.nanoTime() - valid) / 1e9;
                System.out.printf("GoSampleValuesIT: CPU limit %dm; start to 'agent started' %.2f s;"
                        + " certificate to taint removed %.2f s%n", millicores, startSeconds, seconds);
                assertThat(untainted).as("taint removed within 10 s under %dm; log:%n%s", millicores,
                        Files.readString(log)).isTrue();
            } finally {
                p.destroy();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private int cpuLimitMillis() throws Exception {
        return cpuLimitMillis(NAME);
    }

    @SuppressWarnings("unchecked")
    private int cpuLimitMillis(String name) throws Exception {
        Map<String, Object> ds = get("/apis/apps/v1/namespaces/kube-system/daemonsets/" + name);
        Map<String, Object> spec = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) ds.get("spec"))
                .get("template")).get("spec");
        Map<String, Object> container = ((List<Map<String, Object>>) spec.get("containers")).getFirst();
        String cpu = (String) ((Map<String, Object>) ((Map<String, Object>) container.get("resources")).get("limits"))
                .get("cpu");
        assertThat(cpu).endsWith("m");
        return Integer.parseInt(cpu.substring(0, cpu.length() - 1));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> data(Map<String, Object> configMap) {
        return (Map<String, Object>) configMap.get("data");
    }

    private Map<String, Object> get(String path) throws Exception {
        return new Yaml(new LoaderOptions()).load(kube.call("GET", path, null, null));
    }
}
