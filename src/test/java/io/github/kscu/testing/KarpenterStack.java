package io.github.kscu.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Real Karpenter (its kwok cloud provider, the one Karpenter's own e2e tests run), kwok, a kube-scheduler
 * and the controller-manager's node lifecycle controller on a {@link ControlPlane}, as processes under the control plane's guard and stopped with
 * it. Karpenter's CRDs come from its module, as {@code make tools} copied them.
 *
 * <p>The control plane needs {@link #FEATURE_GATE} and {@link #RUNTIME_CONFIG}: {@code src/test/resources/karpenter/node-registration.yaml}
 * is a MutatingAdmissionPolicy that gives a kwok Node at creation what a kubelet started by Karpenter's
 * AWS provider registers with (the startup taint), plus a hold on registration that the test releases.
 */
public final class KarpenterStack {
    /** MutatingAdmissionPolicy is beta and off by default in Kubernetes 1.35: both flags turn it on. */
    public static final String FEATURE_GATE = "--feature-gates=MutatingAdmissionPolicy=true";
    public static final String RUNTIME_CONFIG = "--runtime-config=admissionregistration.k8s.io/v1beta1=true";
    public static final String NAMESPACE = "karpenter-it";
    public static final String HOLD_LABEL = "kscu.test/hold-registration";

    private final String version;

    private KarpenterStack(String version) {
        this.version = version;
    }

    /** Installs the CRDs and the test's admission policies, then starts the scheduler, kwok and Karpenter. */
    public static KarpenterStack start(ControlPlane cp) throws IOException, InterruptedException {
        Path bin = ControlPlane.requireTools("the Karpenter tier's tests", "karpenter", "kwok", "kube-scheduler",
                "kube-controller-manager", "karpenter-crds", "kwok-stages.yaml");
        cp.tool("kubectl", null, "apply", "--server-side", "--field-manager=kscu-test", "-f",
                bin.resolve("karpenter-crds").toRealPath().toString());
        cp.tool("kubectl", null, "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all");
        cp.tool("kubectl", resource("node-registration.yaml"), "apply", "--server-side", "--field-manager=kscu-test",
                "-f", "-");

        String kubeconfig = cp.adminKubeconfig().toString();
        cp.startProcess("kube-scheduler", Duration.ofSeconds(5), () -> true, bin.resolve("kube-scheduler").toString(),
                "--kubeconfig=" + kubeconfig, "--leader-elect=false", "--secure-port=0");
        // The node lifecycle controller takes node.kubernetes.io/not-ready (put on every new Node by the
        // TaintNodesByCondition admission plugin) off once kwok reports the node Ready, as in a cluster.
        cp.startProcess("kube-controller-manager", Duration.ofSeconds(5), () -> true,
                bin.resolve("kube-controller-manager").toString(), "--kubeconfig=" + kubeconfig, "--leader-elect=false",
                "--secure-port=0", "--controllers=node-lifecycle-controller", "--use-service-account-credentials=false");

        int kwokPort = ControlPlane.freePort();
        cp.startProcess("kwok", Duration.ofSeconds(60), healthy("http://127.0.0.1:" + kwokPort + "/healthz"),
                bin.resolve("kwok").toString(), "--kubeconfig=" + kubeconfig,
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--config=" + bin.resolve("kwok-stages.yaml").toRealPath(),
                "--server-address=127.0.0.1:" + kwokPort);

        int health = ControlPlane.freePort();
        // Short batch windows: a pending pod gets its NodeClaim in about a second, not ten.
        cp.startProcess("karpenter", Duration.ofSeconds(90), healthy("http://127.0.0.1:" + health + "/readyz"),
                "env", "KUBECONFIG=" + kubeconfig, "SYSTEM_NAMESPACE=kube-system",
                bin.resolve("karpenter").toString(), "--disable-leader-election=true",
                "--metrics-port=" + ControlPlane.freePort(), "--health-probe-port=" + health,
                "--batch-max-duration=2s", "--batch-idle-duration=200ms", "--log-level=debug");
        // The cache directory is named after the pinned version (tools/build.sh).
        return new KarpenterStack(bin.resolve("karpenter").toRealPath().getParent().getParent().getFileName()
                .toString());
    }

    /** The Karpenter build, e.g. {@code karpenter-v1.15.0}. */
    public String version() {
        return version;
    }

    private static ControlPlane.Probe healthy(String url) {
        OkHttpClient http = new OkHttpClient.Builder().callTimeout(Duration.ofSeconds(1)).build();
        return () -> {
            try (Response r = http.newCall(new Request.Builder().url(url).build()).execute()) {
                return r.isSuccessful();
            }
        };
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = KarpenterStack.class.getResourceAsStream("/karpenter/" + name)) {
            if (in == null) {
                throw new IOException("test resource /karpenter/" + name + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
