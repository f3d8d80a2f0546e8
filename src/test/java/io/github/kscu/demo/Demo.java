package io.github.kscu.demo;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.TestCerts;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * {@code make demo}: the agent's main job on a local control plane. A real etcd and kube-apiserver, the
 * RBAC of kustomize/base, a Node registered with the startup taint, the packaged agent running with its
 * ServiceAccount token, and a kubelet-style serving certificate that appears a few seconds late.
 */
public final class Demo {
    private static final String TAINT = "example.com/kubelet-no-server-cert:NoSchedule";
    private static final String NODE = "demo-node";

    private Demo() {
    }

    static void say(String format, Object... args) {
        System.out.printf("demo  | " + format + "%n", args);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        Path jar = Path.of("target/kubelet-server-cert-untaint.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException("run `make build` first: " + jar + " is missing");
        }
        say("starting etcd and kube-apiserver (RBAC, ServiceAccount tokens) from %s", ControlPlane.toolsBin());
        try (ControlPlane cp = ControlPlane.start(ControlPlane.Options.DEFAULT)) {
            say("control plane ready at %s in %d ms", cp.url(), cp.startTime().toMillis());
            Path kubeconfig = cp.agentKubeconfig();
            say("applied kustomize/base (ServiceAccount, ClusterRole, ClusterRoleBinding, DaemonSet, ConfigMap)");
            Kube kube = cp.kube();
            kube.createNode(NODE, "team.example.com/gpu:NoSchedule", TAINT);
            say("node %s registered with taints %s", NODE, kube.taints(NODE));

            Path pki = cp.dir().resolve("node/var/lib/kubelet/pki");
            Path current = pki.resolve("kubelet-server-current.pem");
            int healthPort;
            try (ServerSocket s = new ServerSocket(0)) {
                healthPort = s.getLocalPort();
            }
            // The image's runtime (jlink + AOT cache) when `make runtime` built it, else the plain jar.
            Path runtime = Path.of("target/runtime").toAbsolutePath();
            List<String> cmd = Files.isRegularFile(runtime.resolve("app/app.aot"))
                    ? ImageCommand.command(runtime, "-XX:AOTCache=" + runtime.resolve("app/app.aot"))
                    : new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                            .toString(), "-jar", jar.toString()));
            cmd.addAll(List.of("--node-name", NODE, "--kubeconfig", kubeconfig.toString(), "--cert-file",
                    current.toString(), "--health-addr", "127.0.0.1:" + healthPort, "--settle-duration", "1m"));
            say("agent command: %s", String.join(" ", cmd.subList(0, cmd.indexOf("--node-name"))));
            ProcessBuilder agentCommand = new ProcessBuilder(cmd).redirectErrorStream(true);
            // As the DaemonSet's downward API sets it: Events go to the agent's own namespace, where its Role is.
            agentCommand.environment().put("POD_NAMESPACE", "kube-system");
            Process agent = agentCommand.start();
            // Ctrl-C: stop the agent; the control plane's processes follow through their guards, and its
            // directory goes with close().
            Thread cleanup = new Thread(() -> {
                agent.destroy();
                cp.close();
            });
            Runtime.getRuntime().addShutdownHook(cleanup);
            Thread logs = Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(agent.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    r.lines().forEach(l -> System.out.println("agent | " + l));
                } catch (java.io.IOException | java.io.UncheckedIOException e) {
                    // the agent exited
                }
            });
            OkHttpClient http = new OkHttpClient();
            String readyz = "http://127.0.0.1:" + healthPort + "/readyz";
            say("agent started with the ServiceAccount token; the kubelet has no serving certificate yet");
            for (int i = 0; i < 5; i++) {
                Thread.sleep(1_000);
                say("t+%ds taints=%s readyz=%s", i + 1, kube.taints(NODE), status(http, readyz));
            }
            say("the serving CSR is approved: the kubelet writes its PEM and swaps the symlink");
            long issued = System.nanoTime();
            TestCerts.serving(TestCerts.ca("demo-cluster-ca"), NODE).installLikeKubelet(current);
            while (kube.taints(NODE).contains(TAINT) && System.nanoTime() - issued < 30_000_000_000L) {
                Thread.sleep(5);
            }
            long ms = (System.nanoTime() - issued) / 1_000_000;
            List<String> left = kube.taints(NODE);
            say("startup taint %s %d ms after the certificate appeared; taints now %s",
                    left.contains(TAINT) ? "STILL PRESENT" : "removed", ms, left);
            Thread.sleep(500);
            say("readyz=%s events=%s", status(http, readyz), kube.eventReasons(NODE));
            agent.destroy();
            boolean exited = agent.waitFor(10, TimeUnit.SECONDS);
            logs.join(2_000);
            say("SIGTERM: agent exited with %s", exited ? Integer.toString(agent.exitValue()) : "nothing (killed)");
            agent.destroyForcibly();
            Runtime.getRuntime().removeShutdownHook(cleanup);
            if (left.contains(TAINT) || !exited || agent.exitValue() != 0) {
                System.exit(1);
            }
        }
        say("done; the control plane is stopped and its directory removed");
    }

    private static String status(OkHttpClient http, String url) {
        try (Response r = http.newCall(new Request.Builder().url(url).build()).execute()) {
            return Integer.toString(r.code());
        } catch (java.io.IOException e) {
            return "unreachable";
        }
    }

}
